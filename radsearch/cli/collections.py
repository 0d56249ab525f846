"""Verbs of collections: list, show, add, export, search (the same catalog rows as the UI and REST)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import library_option, open_lib, parse_where, where_option

_LIBRARY = library_option()


@click.group()
def collections() -> None:
    """Named sets of cases kept in the library: teaching files, tumour-board lists, curation sets."""


@collections.command("list")
@_LIBRARY
def collections_list(library: Path) -> None:
    """Every collection with its number of items, creator and date."""
    found = open_lib(library).collections.list()
    if not found:
        click.echo("no collections yet (save cases with `radsearch collections add` or in the UI)")
    for c in found:
        click.echo(f"{c.name}  {c.items} items  by {c.user}  {c.created[:10]}" + (f"  {c.note}" if c.note else ""))


@collections.command("show")
@_LIBRARY
@click.argument("name")
def collections_show(library: Path, name: str) -> None:
    """A collection's cases and saved searches."""
    lib = open_lib(library)
    present = set(lib.collections.image_ids(name))
    for item in lib.collections.items(name):
        if item.search:
            where = item.search.get("where")
            what = f"search {item.search['query']!r}" + (f" where {where}" if where else "")
        else:
            what = f"image {item.image_id} {item.study_key} {item.path}" + (
                "" if item.image_id in present else " (no longer in the library)")
        click.echo(f"{item.id:>4}  {what}  by {item.user}" + (f"  note: {item.note}" if item.note else ""))


@collections.command("add")
@_LIBRARY
@click.argument("name")
@click.argument("image_ids", nargs=-1, type=int, required=True)
@click.option("--note", default="", help="Why these cases are kept.")
def collections_add(library: Path, name: str, image_ids: tuple[int, ...], note: str) -> None:
    """Save indexed images (by id, as search prints them) to a collection, made if new."""
    added = open_lib(library).collections.add(name, list(image_ids), note)
    click.echo(f"{len(added)} added to {name}" + (f" ({len(image_ids) - len(added)} were there already)"
                                                  if len(added) < len(image_ids) else ""))


@collections.command("export")
@_LIBRARY
@click.argument("name")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Manifest CSV to write.")
def collections_export(library: Path, name: str, out: Path) -> None:
    """Write a collection's cases as a manifest (index it, train on it, share it)."""
    path, rows = open_lib(library).export_collection(name, out)
    click.echo(f"{rows} files; wrote {path}")


@collections.command("search")
@_LIBRARY
@click.argument("name")
@click.option("--avoid", help="Another collection whose cases are negative examples.")
@click.option("-k", default=10, show_default=True)
@where_option()
def collections_search(library: Path, name: str, avoid: str | None, k: int, where: tuple[str, ...]) -> None:
    """Images like the collection's cases (more like these), unlike --avoid's."""
    lib = open_lib(library, threads="serve")
    for rank, hit in enumerate(lib.collections.more_like(name, k, parse_where(where), avoid), start=1):
        click.echo(f"{rank:>3}  {hit.score:.3f}  {hit.id:>6}  {hit.path}")


def register(group: click.Group) -> None:
    group.add_command(collections)
