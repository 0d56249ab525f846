"""Verbs of dataset curation: curate duplicates, leakage, outliers, label-noise, map; and export."""

from __future__ import annotations

from pathlib import Path

import click

from .options import library_option, open_lib, out_option, parse_where, where_option


@click.group()
def curate() -> None:
    """Dataset curation reports as CSV: duplicates, leakage, outliers, label-noise, map."""


_LIBRARY = library_option()
_OUT = out_option()
_WHERE = where_option("Only images matching (as in search).")


def _curator(library: Path):  # noqa: ANN202
    curator = open_lib(library).curate
    curator.progress = True
    return curator


def _report(check: str, rows: list, out: Path, what: str) -> None:
    from ..curation import write_rows
    write_rows(check, rows, out)
    click.echo(f"{what}; wrote {out}")


@curate.command("duplicates")
@_LIBRARY
@_OUT
@_WHERE
@click.option("--exact-only", is_flag=True, help="Only files with identical content (no pixel checks).")
@click.option("--threshold", type=float, help="Pixel-detail correlation that makes a near duplicate "
              "(default 0.42; docs/benchmarks.md).")
def curate_duplicates(library: Path, out: Path, where: tuple[str, ...], exact_only: bool,
                      threshold: float | None) -> None:
    """Exact and near duplicates in clusters; each cluster's suggested keeper has action=keep."""
    from ..curation import duplicate_rows
    curator = _curator(library)
    groups = curator.exact_duplicates()
    if not exact_only:
        kwargs = {"threshold": threshold} if threshold is not None else {}
        groups += curator.near_duplicates(parse_where(where), **kwargs)
    rows = duplicate_rows(groups)
    _report("duplicates", rows, out, f"{len(groups)} duplicate groups, {sum(r['action'] == 'drop' for r in rows)} "
                                     "images or files to drop")


@curate.command("leakage")
@_LIBRARY
@_OUT
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Check this manifest's splits (matched by path) instead of the indexed ones.")
@click.option("--exact-only", is_flag=True, help="Patients and identical files only (no near-duplicate search).")
def curate_leakage(library: Path, out: Path, manifest: Path | None, exact_only: bool) -> None:
    """Patients and duplicates in more than one split; the copies outside the held-out split are to drop."""
    rows = _curator(library).leakage(manifest, near=not exact_only)
    _report("leakage", rows, out, f"{len(rows)} images leak across splits")


@curate.command("outliers")
@_LIBRARY
@_OUT
@_WHERE
@click.option("--check", "checks", multiple=True, type=click.Choice(["anatomy", "inverted", "window", "text"]),
              help="Run only these checks (repeatable; default all).")
def curate_outliers(library: Path, out: Path, where: tuple[str, ...], checks: tuple[str, ...]) -> None:
    """Wrong anatomy, inverted, badly windowed and burned-in text (flagged for review, never changed)."""
    from ..curation import OUTLIER_CHECKS
    rows = _curator(library).outliers(parse_where(where), checks or OUTLIER_CHECKS)
    _report("outliers", rows, out, f"{len(rows)} outliers")


@curate.command("label-noise")
@_LIBRARY
@_OUT
@_WHERE
def curate_label_noise(library: Path, out: Path, where: tuple[str, ...]) -> None:
    """Labels that the report or most nearest neighbours contradict, most confident first."""
    rows = _curator(library).label_noise(parse_where(where))
    _report("label-noise", rows, out, f"{len(rows)} doubtful labels")


@curate.command("map")
@_LIBRARY
@_OUT
@_WHERE
@click.option("--method", type=click.Choice(["auto", "umap", "pca"]), default="auto", show_default=True,
              help="UMAP needs umap-learn installed; auto falls back to PCA.")
@click.option("--clusters", type=int, help="Number of k-means clusters (default about sqrt(n/2)).")
def curate_map(library: Path, out: Path, where: tuple[str, ...], method: str, clusters: int | None) -> None:
    """A 2-D map and clusters of the library's embeddings, one row per image, for plotting."""
    rows = _curator(library).map(parse_where(where), method, clusters)
    _report("map", rows, out, f"{len(rows)} images mapped ({rows[0]['method'] if rows else method})")


@click.command()
@_LIBRARY
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Manifest CSV to write.")
@_WHERE
@click.option("--exclude", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A `radsearch curate` CSV: its images are left out unless their action is keep (repeatable).")
def export(library: Path, out: Path, where: tuple[str, ...], exclude: tuple[Path, ...]) -> None:
    """Write a manifest of the library's images, filtered, minus the ones curation reports drop."""
    path, count = _curator(library).export(out, parse_where(where), exclude)
    click.echo(f"{count} images; wrote {path}")


def register(group: click.Group) -> None:
    group.add_command(curate)
    group.add_command(export)
