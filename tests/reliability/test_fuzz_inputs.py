"""Fuzzing every parser of user input with hypothesis: each either accepts the input or raises the one error
type the CLI and UI print as a clear line. (Image files: tests/imaging/test_bad_input.py; filter expressions:
tests/storage/test_filters.py.)"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import click
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radsearch import open_library
from radsearch.access import AccessDenied, authenticate, read_users
from radsearch.cli.options import parse_where
from radsearch.config import CONFIG_FILE, LibraryConfig, read_config
from radsearch.datasets.manifest import REQUIRED_COLUMNS, read_manifest
from radsearch.errors import InvalidFilter, ManifestError, RadsearchError
from radsearch.search.query import parse_text_query

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@functools.cache
def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="radsearch-fuzz-"))


_CELL = st.text(max_size=20) | st.sampled_from(["", "a.png", "../x.dcm", "CHEST", "nodule|effusion", '"', "\r\n"])


@FUZZ
@given(header=st.lists(st.sampled_from([*REQUIRED_COLUMNS, "age", "extra", ""]) | st.text(max_size=6), max_size=10),
       rows=st.lists(st.lists(_CELL, max_size=10), max_size=5), raw=st.binary(max_size=60), use_raw=st.booleans())
def test_any_manifest_is_read_or_refused_with_manifest_error(header, rows, raw, use_raw):
    path = _folder() / "manifest.csv"
    if use_raw:
        path.write_bytes(raw)
    else:
        lines = [",".join(header)] + [",".join(row) for row in rows]
        path.write_bytes("\n".join(lines).encode("utf-8", "replace"))
    try:
        records = read_manifest(path)
    except ManifestError as e:
        assert str(path) in str(e)
        return
    assert all(Path(record.path).is_absolute() for record in records)


@FUZZ
@given(text=st.text(max_size=80))
def test_any_query_text_splits_into_wanted_and_negated_phrases(text):
    query = parse_text_query(text)
    assert query.text == text
    words = set(text.lower().split())
    assert all(set(part.lower().split()) <= {w.strip(",;.") for w in words} | {w for w in words}
               for part in query.negated)


@pytest.fixture(scope="module")
def opened(pristine_library):
    return open_library(pristine_library)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=120) | st.sampled_from(["no", "without", "effusion but not", ", , ;", "\0", "é" * 500]))
def test_any_query_text_searches_or_says_it_is_empty(opened, text):
    try:
        hits = opened.search.text(text, k=3)
    except ValueError as e:  # blank text
        assert not text.strip() and "needs some text" in str(e)
        return
    assert len(hits) <= 3 and all(hit.path for hit in hits)


@FUZZ
@given(pairs=st.lists(st.text(max_size=20), max_size=4))
def test_any_command_line_filter_parses_or_is_refused(pairs):
    try:
        where = parse_where(tuple(pairs))
    except click.BadParameter:
        assert any("=" not in pair for pair in pairs)
        return
    assert where is None or all(isinstance(key, str) for key in where)


@FUZZ
@given(pairs=st.lists(st.sampled_from(["age=40..x", "age=..", "body_part=,", "age=abc", "labels=a,b", "split=te'st",
                                       "head:x=1..2", "view=PA"]), min_size=1, max_size=3))
def test_command_line_filters_reach_the_catalog_as_results_or_invalid_filter(opened, pairs):
    try:
        hits = opened.search.text("effusion", k=3, where=parse_where(tuple(pairs)))
    except InvalidFilter as e:
        assert str(e)
        return
    assert len(hits) <= 3


_TOML_VALUE = st.text(max_size=10) | st.integers() | st.booleans() | st.floats(allow_nan=False) | \
    st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from([*LibraryConfig.__dataclass_fields__, "other"]), _TOML_VALUE,
                              max_size=6),
       raw=st.binary(max_size=80), use_raw=st.booleans())
def test_any_config_file_is_read_or_refused_with_a_clear_error(fields, raw, use_raw):
    folder = _folder() / "library"
    folder.mkdir(exist_ok=True)
    (folder / CONFIG_FILE).write_bytes(raw if use_raw else tomli_w.dumps(fields).encode())
    try:
        config = read_config(folder)
    except RadsearchError as e:
        assert CONFIG_FILE in str(e) or str(folder) in str(e)
        return
    assert isinstance(config.embed_dim, int) and isinstance(config.database_url, str)


@FUZZ
@given(raw=st.binary(max_size=120) | st.text(max_size=120).map(str.encode), name=st.text(max_size=10),
       token=st.text(max_size=10))
def test_any_users_file_is_read_or_refused_and_never_lets_a_guess_in(raw, name, token):
    path = _folder() / "users.toml"
    path.write_bytes(raw)
    try:
        read_users(path)
        accepted = authenticate(path, name, token)
    except AccessDenied as e:
        assert str(path) in str(e)
        return
    assert not accepted
