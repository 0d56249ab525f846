"""The search page's sidebar: filters (one per registry column the UI offers, and findings), result count,
grouping, own-patient choice and task head.

Every widget is bound to the page's URL (`bind="query-params"`), so the address bar always holds the
search as it stands and a copied link opens the same results for a colleague.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import streamlit as st

from radsearch.library import Library

from .resources import load_library

GROUPS = {"Images": None, "Studies": "study", "Patients": "patient"}
BOUND = "query-params"


@dataclass(frozen=True)
class SearchOptions:
    where: dict[str, Any] = field(default_factory=dict)
    k: int = 12
    by: str | None = None  # "study", "patient" or None (images)
    include_own: bool = False
    head: str | None = None


@st.cache_data(show_spinner=False, max_entries=8)
def filter_facts(path: str, images: int) -> dict:
    """Filter choices and ranges of every column the registry offers (and findings); recomputed when the
    library's image count changes. The catalog answers each with one DISTINCT query, never by loading rows."""
    library = load_library(path)
    return {column.name: library.filter_choices(column.name) for column in library.filter_columns()} | {
        "labels": library.filter_choices("labels")}


def _choices(column: str, label: str, values: list[str], where: dict) -> None:
    if values:
        chosen = st.sidebar.multiselect(label, values, key=f"filter-{column}", bind=BOUND)
        if chosen:
            where[column] = chosen


def _range(column: str, label: str, values: list[str], where: dict) -> None:
    numbers = [float(v) for v in values]
    if numbers and min(numbers) < max(numbers):
        span = (int(min(numbers)), int(max(numbers) + 0.999))
        low, high = st.sidebar.slider(label, span[0], span[1], span, key=f"filter-{column}", bind=BOUND)
        if (low, high) != span:
            where[column] = {"min": low, "max": high}


def _dates(column: str, label: str, values: list[str], where: dict) -> None:
    try:
        days = sorted(date.fromisoformat(v) for v in values)
    except ValueError:  # a date the catalog holds in another form: offer the column as choices instead
        _choices(column, label, values, where)
        return
    if days:
        first, last = days[0], days[-1]
        chosen = st.sidebar.date_input(label, (first, last), min_value=first, max_value=last, key=f"filter-{column}",
                                       bind=BOUND)
        if isinstance(chosen, tuple) and len(chosen) == 2 and chosen != (first, last):
            where[column] = {"min": chosen[0].isoformat(), "max": chosen[1].isoformat()}


WIDGETS = {"choices": _choices, "range": _range, "dates": _dates}  # radsearch.columns: Column.ui


def sidebar(library: Library) -> SearchOptions:
    """The search options the sidebar's widgets hold."""
    st.sidebar.header("Filters")
    facts = filter_facts(str(library.path), library.count("images"))
    where: dict = {}
    columns = library.filter_columns()
    for column in [c for c in columns if c.ui == "choices"]:  # pickers first, in the registry's order
        WIDGETS[column.ui](column.name, column.title, facts[column.name], where)
    _choices("labels", "Findings", facts["labels"], where)
    for column in [c for c in columns if c.ui != "choices"]:  # then ranges and dates
        WIDGETS[column.ui](column.name, column.title, facts[column.name], where)
    k = st.sidebar.slider("Results", min_value=4, max_value=48, value=12, step=4, key="k", bind=BOUND)
    group = GROUPS[st.sidebar.radio("Show", list(GROUPS), horizontal=True, key="group", bind=BOUND,
                                    help="One card per image, or per study or patient (its matching images)")]
    include_own = st.sidebar.checkbox("Include the query's own patient", key="include-own", bind=BOUND,
                                      help="When the query image is in the library, its own patient and study "
                                           "are left out unless this is ticked")
    names = library.heads.names()
    head = None
    if names:
        choice = st.sidebar.selectbox("Task head", ["(none)", *names], key="head",
                                      help="Run a trained or zero-shot head on the query and on every result.")
        head = None if choice == "(none)" else choice
    stats = library.stats()
    st.sidebar.caption(f"{stats['images']} images · {stats['reports']} reports · model {stats['model_id']}")
    return SearchOptions(where, k, group, include_own, head)
