"""Verbs that build and look after a library: index, remove, rebuild, check, repair."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .options import library_option, open_lib


@click.command()
@click.argument("source")
@library_option("Library directory (created if new).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Model directory; required for a new library.")
@click.option("--batch-size", default=32, show_default=True, help="Images embedded and committed together.")
@click.option("--workers", type=click.IntRange(min=0),
              help="Decode processes [default: one per core]; 0 decodes in the main process.")
@click.option("--keep-identifiers", is_flag=True, default=None,
              help="New library only: store real patient IDs and accession numbers instead of salted pseudonyms.")
@click.option("--database", "database_url", metavar="URL",
              help="New library only: catalog database, e.g. postgresql://user@host/name [default: SQLite in the "
                   "library, or a database on the server in $RADSEARCH_DATABASE_URL].")
@click.option("--memory-budget", metavar="SIZE", callback=lambda _c, _p, v: _size(v),
              help="RAM the vector indexes may take, e.g. 16G; over it an 'auto' index is compressed (IVF-SQ8, then "
                   "IVF-PQ). Recorded in radsearch.toml [default: half of this machine's RAM].")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "int8"]),
              help="How the encoder runs when this library embeds (images now, queries later): bf16 autocast, fp32, "
                   "or int8 linear layers (CPU). Recorded in radsearch.toml [default: auto, bf16 where the hardware "
                   "has it natively; docs/indexing.md].")
@click.option("--rehash", is_flag=True,
              help="Read and hash every file, even those whose path, size and modification time are already indexed.")
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help="Embed on a Ray cluster: its address (auto, ray://host:10001) or 'local' to start one here. "
                   "Needs the ray extra.")
@click.option("--modality", "modalities", multiple=True, metavar="CODE",
              help="PACS only: studies with this modality (CR, DX; repeatable).")
@click.option("--since", metavar="DATE|last", help="PACS only: studies from this date (YYYY-MM-DD), or 'last': from "
              "the last finished sync of this PACS (nightly runs).")
@click.option("--until", metavar="DATE", help="PACS only: studies up to this date (YYYY-MM-DD).")
@click.option("--body-part", "body_parts", multiple=True, metavar="PART",
              help="PACS only: series whose Body Part Examined is this (CHEST; repeatable).")
@click.option("--credentials", "credentials_file", type=click.Path(dir_okay=False, path_type=Path),
              help="PACS only: a TOML file with user and password (or token), mode 600. Default: "
                   "RADSEARCH_PACS_USER / RADSEARCH_PACS_PASSWORD / RADSEARCH_PACS_TOKEN.")
def index(source: str, library: Path, model_dir: Path | None, batch_size: int, workers: int | None,
          keep_identifiers: bool | None, database_url: str | None, memory_budget: str | None,
          precision: str | None, rehash: bool,
          ray_address: str | None, modalities: tuple[str, ...], since: str | None, until: str | None,
          body_parts: tuple[str, ...], credentials_file: Path | None) -> None:
    """Index SOURCE (archive folder, manifest CSV, image, or a PACS: dicomweb+http://HOST:PORT/dicom-web) into a
    library; re-runs add only new files."""
    from ..library import open_or_create
    from ..models.card import card_verdict
    from ..pacs import is_dicomweb_url, read_credentials
    pacs: dict = {}
    if is_dicomweb_url(source):
        pacs = {"modalities": modalities, "since": since or "", "until": until or "", "body_parts": body_parts,
                "credentials": read_credentials(credentials_file)}
    elif modalities or since or until or body_parts or credentials_file:
        raise click.UsageError("--modality, --since, --until, --body-part and --credentials apply to a PACS source "
                               "(dicomweb+http://HOST:PORT/dicom-web)")
    lib = open_or_create(library, model_dir, keep_identifiers=keep_identifiers, database_url=database_url)
    if memory_budget is not None:
        lib.set_memory_budget(memory_budget)
    if precision is not None:
        lib.set_precision(precision)
    verdict = card_verdict(model_dir) if model_dir else card_verdict(library / "model")
    if verdict:  # what the model's card says it is worth, before its vectors fill a library
        click.secho(f"model card: {verdict}", err=True, fg="red" if verdict.startswith("WORSE") else None)
    click.echo(str(lib.index(source if pacs else Path(source), batch_size=batch_size, workers=workers,
                             ray_address=ray_address, rehash=rehash, **pacs)))


def _size(value: str | None) -> str | None:
    """--memory-budget checked before anything is opened."""
    from ..config import budget_bytes
    if value is not None:
        try:
            budget_bytes(value)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
    return value


@click.command()
@library_option()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--missing", is_flag=True, help="Also remove every image whose file no longer exists.")
def remove(library: Path, paths: tuple[Path, ...], missing: bool) -> None:
    """Remove the images of PATHS (files or folders) from a library: rows, vectors and thumbnails."""
    if not paths and not missing:
        raise click.UsageError("give files or folders to remove, or --missing")
    removed = open_lib(library).remove(paths, missing=missing)
    click.echo(f"removed {removed['images']} images, {removed['reports']} reports and {removed['studies']} studies")


@click.command()
@library_option()
def rebuild(library: Path) -> None:
    """Re-create the FAISS indexes from the catalog's stored embeddings (no encoder run)."""
    counts = open_lib(library).rebuild()
    click.echo(", ".join(f"{kind}: {n} vectors" for kind, n in counts.items()))


@click.command()
@library_option()
def check(library: Path) -> None:
    """Verify a library: catalog, one vector per row in every index, the model's hash, no orphan files."""
    from ..library import check_library
    report = check_library(library, progress=True)
    click.echo(str(report))
    if not report.ok:
        sys.exit(1)


@click.command()
@library_option()
def repair(library: Path) -> None:
    """Rebuild what derives from the catalog (FAISS indexes, thumbnails) and clear leftovers of killed writes."""
    from ..library import repair_library
    summary = repair_library(library)
    click.echo(str(summary))
    if not summary.after.ok:
        sys.exit(1)


def register(group: click.Group) -> None:
    for command in (index, remove, rebuild, check, repair):
        group.add_command(command)
