"""Options and argument parsing several verbs share: the library, filters, output files, JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..library import Library


def library_option(help: str = "Library directory.") -> Callable:  # noqa: A002 - click's own keyword
    return click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path), help=help)


def out_option(help: str = "CSV to write.") -> Callable:  # noqa: A002
    return click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help=help)


def where_option(help: str = "Filter: body_part=CHEST, view=PA,LAT, age=40..70 (repeatable).") -> Callable:  # noqa: A002
    return click.option("--where", multiple=True, metavar="KEY=VALUE", help=help)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def open_lib(path: Path, threads: str | None = None) -> Library:
    """Open a library; with `threads`, first size this process's thread teams for that role (radsearch.threads)."""
    from ..library import open_library, set_threads
    if threads:
        set_threads(threads)
    return open_library(path)


def parse_where(pairs: tuple[str, ...]) -> dict[str, Any] | None:
    """KEY=VALUE, KEY=A,B (any of) or KEY=LOW..HIGH (range) into the filter dict of the API."""
    where: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--where")
        key, value = pair.split("=", 1)
        if ".." in value:
            low, high = value.split("..", 1)
            where[key] = {"min": _number(low), "max": _number(high)}
        elif "," in value:
            where[key] = [v for v in value.split(",") if v]
        else:
            where[key] = value
    return where or None


def _number(text: str) -> float | str | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text  # dates compare as ISO strings
