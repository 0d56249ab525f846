"""Metadata filters: a small dict grammar, parsed once into conditions, then run as SQLAlchemy expressions
(never string SQL) or, for the columns a search filters by, over the in-memory copy in `filter_columns.py`.

    {"body_part": "CHEST"}                      equality
    {"view": ["PA", "LAT"]}                     any of
    {"age": {"min": 40, "max": 70}}             inclusive range (numbers or ISO dates)
    {"patient_id": {"not": "P1"}}               exclusion (value or list)
    {"labels": "nodule"} / {"labels": [...]}    image carries any of these labels
    {"head:effusion": "yes"} / "no"             a stored head prediction at its operating point
    {"head:view": "PA"} / ["PA", "AP"]          a categorical head's top class
    {"head:effusion": {"min": 0.8}}             a stored probability range ("head:NAME:TARGET" for one
                                                target of a multi-target head)

Patient IDs are matched by pseudonym: pass the library's Pseudonymizer and give real IDs (or pseudonyms).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, not_, or_, select, true

from ..columns import FILTERABLE, IDENTIFIERS, NUMERIC
from ..errors import InvalidFilter
from .schema import Image, Label, Prediction

FILTER_COLUMNS = (*FILTERABLE, "labels")  # the registry's filterable columns, and the labels table
IDENTIFIER_FILTERS = IDENTIFIERS  # columns holding pseudonyms: filter values are pseudonymised first
NUMERIC_FILTERS = NUMERIC  # compared as numbers; every other column as text (dates are ISO text)
_RANGE_KEYS = {"min", "max"}
HEAD_PREFIX = "head:"  # filters on stored task-head predictions (radsearch.heads)
SCALARS = (str, int, float)  # what a filter value may be: bound as an SQL parameter, never spliced into SQL


@dataclass(frozen=True)
class Condition:
    """One column's part of a filter, its values already typed (and pseudonymised for identifier columns).

    op is "in" (any of values), "not_in" (none of them; a missing value counts as none), "range" (low <= value
    <= high, either bound optional; a missing value never matches) or "head" (a stored prediction: `spec` as
    given, answered only in SQL). For "labels", "in"/"not_in" mean carrying any / none of the labels.
    """

    column: str
    op: str
    values: tuple = ()
    low: float | str | None = None
    high: float | str | None = None
    spec: Any = None


def _scalar(column: str, value: Any) -> float | str:
    """A filter value as the column's type (what every database compares without complaint)."""
    if isinstance(value, bool) or not isinstance(value, SCALARS):
        raise InvalidFilter(f"filter {column!r}: values are text or numbers, not {type(value).__name__}")
    if column in NUMERIC_FILTERS:
        try:
            number = float(value)
        except (ValueError, OverflowError):
            raise InvalidFilter(f"filter {column!r} compares numbers, not {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise InvalidFilter(f"filter {column!r}: {value!r} is not a finite number")
        return number
    text = str(value)
    if "\x00" in text:
        raise InvalidFilter(f"filter {column!r}: a value holds a NUL character")
    return text


def _values(column: str, value: Any) -> tuple:
    values = list(value) if isinstance(value, (list, tuple, set)) else [value]
    if not values:
        raise InvalidFilter(f"filter {column!r} has an empty list of values")
    return tuple(_scalar(column, v) for v in values)


def _parse(column: str, spec: Any) -> Condition:
    if column.startswith(HEAD_PREFIX):
        _head_condition(column, spec)  # checked now, so a malformed head filter fails before any search
        return Condition(column, "head", spec=spec)
    if column not in FILTER_COLUMNS:
        raise InvalidFilter(f"cannot filter by {column!r}; filterable columns are {', '.join(FILTER_COLUMNS)}")
    if isinstance(spec, dict) and set(spec) == {"not"}:
        return Condition(column, "not_in", _values(column, spec["not"]))
    if isinstance(spec, dict) and column != "labels":
        if not spec or not set(spec) <= _RANGE_KEYS:
            raise InvalidFilter(f"filter {column!r}: a dict takes 'min'/'max' or 'not', got {sorted(map(str, spec))}")
        bound = {key: None if spec.get(key) is None else _scalar(column, spec[key]) for key in ("min", "max")}
        return Condition(column, "range", low=bound["min"], high=bound["max"])  # {"min": None}: no bound at all
    return Condition(column, "in", _values(column, spec))


def parse_filter(where: dict[str, Any] | None,
                 pseudonymise: Callable[[object], str | None] | None = None) -> tuple[Condition, ...]:
    """The conditions of a `where` dict (all must hold); InvalidFilter when it is malformed."""
    if where is not None and not isinstance(where, dict):
        raise InvalidFilter(f"a filter is a dict of column: condition, not {type(where).__name__}")
    conditions = []
    for column, spec in (where or {}).items():
        if not isinstance(column, str):
            raise InvalidFilter(f"filter columns are names, not {column!r}")
        if pseudonymise is not None and column in IDENTIFIER_FILTERS:
            spec = _mapped(spec, pseudonymise)
        conditions.append(_parse(column, spec))
    return tuple(conditions)


def _sql(condition: Condition):
    column = condition.column
    if condition.op == "head":
        return _head_condition(column, condition.spec)
    if column == "labels":
        has = _has_label(list(condition.values))
        return not_(has) if condition.op == "not_in" else has
    field = getattr(Image, column)
    if condition.op == "not_in":
        return or_(field.is_(None), field.not_in(list(condition.values)))
    if condition.op == "range":
        parts = []
        if condition.low is not None:
            parts.append(field >= condition.low)
        if condition.high is not None:
            parts.append(field <= condition.high)
        return and_(true(), *parts)
    values = list(condition.values)
    return field.in_(values) if len(values) > 1 else field == values[0]


def _head_condition(column: str, spec: Any):
    """Images whose stored prediction of a head matches: yes/no, a class, or a probability range."""
    head, _, target = column[len(HEAD_PREFIX):].partition(":")
    if not head:
        raise InvalidFilter(f"filter {column!r}: name the head, e.g. head:pleural_effusion=yes")
    match = [Prediction.image_id == Image.id, Prediction.head == head]
    if target:
        match.append(Prediction.target == target)
    if isinstance(spec, dict):
        if not spec or not set(spec) <= _RANGE_KEYS:
            raise InvalidFilter(f"filter {column!r}: a dict takes 'min'/'max' probabilities, "
                                f"got {sorted(map(str, spec))}")
        for key, compare in (("min", Prediction.probability.__ge__), ("max", Prediction.probability.__le__)):
            if spec.get(key) is not None:
                try:
                    match.append(compare(float(_scalar(column, spec[key]))))
                except ValueError:
                    raise InvalidFilter(f"filter {column!r}: {key} must be a probability, not {spec[key]!r}") from None
        return exists().where(*match)
    values = [str(v) for v in _values(column, spec)]
    answers = {v.lower() for v in values} & {"yes", "no", "true", "false"}
    if answers and len(values) == 1:
        wanted = values[0].lower() in ("yes", "true")
        positive = exists().where(*match, Prediction.positive.is_(True))
        return positive if wanted else and_(exists().where(*match), not_(positive))
    return exists().where(*match, Prediction.target.in_(values), Prediction.positive.is_(True))


def _has_label(names: list) -> Any:
    """Images carrying any of these labels: the labels' (name, image_id) index lists them (an EXISTS per image
    row made SQLite visit every image, 1.3 s at 10^6)."""
    return Image.id.in_(select(Label.image_id).where(Label.name.in_([str(n) for n in names])))


def filter_query(conditions: tuple[Condition, ...]) -> Select:
    """SELECT images.id for the rows matching every condition."""
    query = select(Image.id)
    for condition in conditions:
        query = query.where(_sql(condition))
    return query


def image_filter(where: dict[str, Any] | None, pseudonymise: Callable[[object], str | None] | None = None) -> Select:
    """SELECT images.id for the rows matching every condition in `where`."""
    return filter_query(parse_filter(where, pseudonymise))


def _mapped(spec: Any, fn: Callable[[object], str | None]) -> Any:
    """The same filter with every value passed through fn (ranges make no sense on pseudonyms)."""
    if isinstance(spec, dict):
        if set(spec) != {"not"}:
            raise InvalidFilter("identifiers are pseudonymised: filter them by value or 'not', not by range")
        return {"not": _mapped(spec["not"], fn)}
    if isinstance(spec, (list, tuple, set)):
        return [fn(v) for v in spec]
    return fn(spec)
