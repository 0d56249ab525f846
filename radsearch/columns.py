"""The image metadata columns: one registry from which the catalog, the filters, the DICOM and manifest
readers, task heads and the UI all take their lists.

Adding a filterable column is one `Column(...)` line in COLUMNS plus an Alembic migration that adds
it to existing catalogs (radsearch/storage/migrations). Each column says:
  kind        "text", "number" (compared as numbers, filtered by ranges) or "date" (ISO yyyy-mm-dd text)
  dicom       how its value is read from a DICOM header (None: never from the header)
  manifest    the manifest CSV column whose value overrides the header's (the user's declared truth)
  filterable  offered by `--where` / `where=` (and indexed in SQL)
  identifier  holds a pseudonym (radsearch.privacy): filters take real ids and never ranges
  head        a categorical fact a task head can learn (`radsearch heads train --column NAME`)
  ui          how the UI offers it as a filter: "choices" (pick values), "range" (a slider), "dates"
It lives at the bottom of the package because the readers (imaging, datasets) and the catalog
(storage) sit side by side above it and all derive from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Lookup = Callable[[str], Any]  # DICOM keyword -> the element's value, or None (a pydicom Dataset's .get)
KINDS = ("text", "number", "date")
UI_WIDGETS = ("choices", "range", "dates")


def _text(value: Any) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def text(*keywords: str) -> Callable[[Lookup], str | None]:
    """The first of these keywords that holds a non-empty value, as stripped text."""
    def read(get: Lookup) -> str | None:
        return next((t for t in (_text(get(k)) for k in keywords) if t is not None), None)
    return read


def number(keyword: str) -> Callable[[Lookup], float | None]:
    """A DS/IS/US value as a float (the first of a multi-valued one); None when absent or not a number."""
    def read(get: Lookup) -> float | None:
        value = get(keyword)
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            value = value[0] if len(value) else None
        try:
            return float(value) if _text(value) is not None else None
        except (TypeError, ValueError):
            return None
    return read


def iso_date(keyword: str) -> Callable[[Lookup], str | None]:
    """A DA value (yyyymmdd) as ISO yyyy-mm-dd; other text is kept as it is."""
    def read(get: Lookup) -> str | None:
        return as_iso_date(_text(get(keyword)))
    return read


def as_iso_date(value: str | None) -> str | None:
    """yyyymmdd -> yyyy-mm-dd; anything else unchanged."""
    if value and len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def age_years(get: Lookup) -> float | None:
    """Patient's Age (AS: 045Y, 006M, 010W, 003D) in years, else the age at the study from the birth date
    (which itself is never kept)."""
    age = _text(get("PatientAge"))
    if age and len(age) >= 2 and age[:-1].isdigit():
        per_year = {"Y": 1.0, "M": 12.0, "W": 52.1775, "D": 365.25}.get(age[-1].upper())
        if per_year:
            return round(int(age[:-1]) / per_year, 2)
    try:
        born = datetime.strptime(_text(get("PatientBirthDate")) or "", "%Y%m%d")
        seen = datetime.strptime(_text(get("StudyDate")) or "", "%Y%m%d")
    except ValueError:
        return None
    years = seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day))
    return float(years) if 0 <= years < 150 else None


@dataclass(frozen=True)
class Column:
    """One metadata column of the catalog's images table; see the module docstring for each field."""

    name: str
    kind: str = "text"
    dicom: Callable[[Lookup], Any] | None = None
    manifest: str | None = None
    filterable: bool = True
    identifier: bool = False
    head: bool = False
    ui: str | None = None
    label: str = ""  # what people call it ("Body part"); defaults to the name
    length: int = 64  # text columns: the longest value kept (SQL VARCHAR length)
    upper: bool = False  # a coded value, stored upper-case whichever source gave it

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.ui is not None and self.ui not in UI_WIDGETS:
            raise ValueError(f"column {self.name}: ui {self.ui!r} is not one of {', '.join(UI_WIDGETS)}")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def convert(self, value: Any) -> Any:
        """A value from a manifest or a caller as this column stores it (numbers as floats, dates as ISO)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if self.kind == "number":
            return float(value)  # ValueError for text that is not a number: the caller says whose value it was
        text_value = str(value).strip()
        if self.upper:
            text_value = text_value.upper()
        return as_iso_date(text_value) if self.kind == "date" else text_value


COLUMNS: tuple[Column, ...] = (
    Column("patient_id", dicom=text("PatientID"), manifest="patient_id", identifier=True, length=128,
           label="Patient"),
    Column("sop_uid", dicom=text("SOPInstanceUID"), filterable=False, length=128),
    Column("modality", dicom=text("Modality"), head=True, length=16),
    Column("body_part", dicom=text("BodyPartExamined"), manifest="body_part", upper=True, head=True, ui="choices"),
    Column("view", dicom=text("ViewPosition"), manifest="view", upper=True, head=True, ui="choices", length=16),
    Column("laterality", dicom=text("ImageLaterality", "Laterality"), manifest="laterality", head=True, length=8),
    Column("sex", dicom=text("PatientSex"), manifest="sex", head=True, ui="choices", length=8),
    Column("age", kind="number", dicom=age_years, manifest="age", ui="range"),
    Column("study_date", kind="date", dicom=iso_date("StudyDate"), manifest="study_date", ui="dates", length=10),
    Column("split", manifest="split", ui="choices", label="Dataset split", length=16),
    Column("institution", dicom=text("InstitutionName"), head=True, length=128),
    Column("manufacturer", dicom=text("Manufacturer"), head=True, length=128),
    Column("manufacturer_model", dicom=text("ManufacturerModelName"), filterable=False, length=128),
    Column("kvp", kind="number", dicom=number("KVP"), ui="range", label="kVp"),
)
BY_NAME = {column.name: column for column in COLUMNS}
FILTERABLE = tuple(c.name for c in COLUMNS if c.filterable)
NUMERIC = tuple(c.name for c in COLUMNS if c.kind == "number")
IDENTIFIERS = tuple(c.name for c in COLUMNS if c.identifier)
HEAD_COLUMNS = tuple(c.name for c in COLUMNS if c.head)
FROM_MANIFEST = tuple(c for c in COLUMNS if c.manifest)


def column(name: str) -> Column:
    """The registry entry of a column; an unknown name lists the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no metadata column {name!r}; the columns are {', '.join(BY_NAME)}") from None


def read_dicom(get: Lookup) -> dict[str, Any]:
    """Every column a DICOM header can give, by name, as the column stores it (None where the header is silent)."""
    return {c.name: c.convert(c.dicom(get)) for c in COLUMNS if c.dicom is not None}
