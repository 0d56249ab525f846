"""Verbs that query a library: search and draft."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import click

from .options import json_option, library_option, open_lib, parse_where, where_option


@click.command()
@library_option()
@click.option("--image", "images", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Query image (DICOM/PNG/JPEG); repeat for the views of one study.")
@click.option("--text", help="Query text, e.g. 'left pleural effusion'.")
@click.option("--like", "like_id", type=int, help="An indexed image's id: more like this one.")
@click.option("-k", default=10, show_default=True, help="Number of results.")
@click.option("--reports", is_flag=True, help="Return reports instead of images.")
@click.option("--sentences", is_flag=True, help="Return reports ranked by their best-matching sentence.")
@click.option("--by", "group_by", type=click.Choice(["study", "patient"]),
              help="Return studies or patients, scored by their best-matching image.")
@click.option("--include-own", is_flag=True,
              help="Keep the query's own patient and study (images, reports) when the query file is in the library.")
@where_option()
@json_option
@click.option("--export-kos", "kos_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the results as a DICOM Key Object Selection in the query's study (DICOM --image only).")
@click.option("--stow", "stow_url", metavar="dicomweb+http://HOST/dicom-web",
              help="Send the --export-kos document to this PACS (STOW-RS; credentials as for `radsearch index`).")
def search(library: Path, images: tuple[Path, ...], text: str | None, like_id: int | None, k: int, reports: bool,
           sentences: bool, group_by: str | None, include_own: bool, where: tuple[str, ...], as_json: bool,
           kos_file: Path | None, stow_url: str | None) -> None:
    """Search a library with an image (or a study's images), a text, or an indexed image's id."""
    given = [q for q in (list(images) or None, text, like_id) if q is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --image, --text or --like")
    if (reports or sentences) and where:
        raise click.UsageError("--where filters image results; drop it with --reports or --sentences")
    if (kos_file or stow_url) and (len(images) != 1 or reports or sentences):
        raise click.UsageError("--export-kos and --stow take one DICOM --image and image results")
    if stow_url and not kos_file:
        raise click.UsageError("--stow sends the --export-kos document: give --export-kos FILE too")
    results = "sentences" if sentences else "reports" if reports else "images"
    lib = open_lib(library, threads="serve")
    hits = lib.search(given[0], k, parse_where(where), results=results, by=group_by, include_own=include_own)
    for note in getattr(hits, "notes", []):  # on stderr, so --json output stays a plain list
        click.secho(f"note: {note}", err=True, fg="yellow")
    if kos_file:
        _export_kos(lib, images[0], hits, kos_file, stow_url)
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], indent=2, default=str))
        return
    for rank, hit in enumerate(hits, start=1):
        if group_by:
            click.echo(f"{rank:>3}  {hit.score:.3f}  {group_by} {hit.key}  "
                       f"{len(hit.hits)} matching images, e.g. {hit.hits[0].path}")
        elif results != "images":  # the sentence that matched, in brackets
            shown = hit.why.highlight(hit.text, ("[", "]")) if hit.why else hit.text
            click.echo(f"{rank:>3}  {hit.score:.3f}  {hit.study_key}  {shown}")
        else:
            meta = hit.metadata
            click.echo(f"{rank:>3}  {hit.score:.3f}  {meta.get('body_part') or '?'}/{meta.get('view') or '?'}  "
                       f"[{', '.join(hit.labels) or 'no findings'}]  {hit.path}")


@click.command()
@library_option()
@click.option("--image", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The image to report.")
@click.option("-k", default=10, show_default=True, help="Similar reported studies to draft from.")
@click.option("--generator", metavar="MODULE:FUNCTION",
              help="A site's own text generator, called with (query, cases, consensus draft); returns text.")
@click.option("--json", "as_json", is_flag=True, help="Print the draft, its evidence and the cases as JSON.")
def draft(library: Path, image: Path, k: int, generator: str | None, as_json: bool) -> None:
    """Draft a report for IMAGE from the most similar cases: agreed sentences, each citing its studies."""
    lib = open_lib(library, threads="serve")
    made = lib.search.draft(image, k=k, generator=_load_generator(generator) if generator else None)
    if as_json:
        click.echo(json.dumps({"text": made.text, "uncertain": made.uncertain, "disputed": made.disputed,
                               "abstained": made.abstained or None,
                               "sentences": [vars(s) for s in made.sentences],
                               "cases": [{"study_key": c.study_key, "score": c.score} for c in made.cases]},
                              indent=2))
        return
    click.echo(made.text)
    if made.abstained:
        return
    click.echo(f"\nfrom {len(made.cases)} similar studies: "
               + ", ".join(f"{c.study_key} ({c.score:.3f})" for c in made.cases))


def _export_kos(lib, query: Path, hits: list, out: Path, stow_url: str | None) -> None:  # noqa: ANN001
    """Write (and send) the Key Object Selection of a search's results; said on stderr."""
    document = lib.key_objects(query, hits, description=f"radsearch: {len(hits)} similar cases")
    document.save_as(out, enforce_file_format=True)
    click.echo(f"wrote {out}: a Key Object Selection in study {document.StudyInstanceUID}", err=True)
    if stow_url:
        from ..pacs import DicomWeb
        DicomWeb(stow_url).store([document])
        click.echo(f"stored it in {stow_url.removeprefix('dicomweb+')}", err=True)


def _load_generator(spec: str):  # noqa: ANN202
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise click.BadParameter(f"cannot load {spec!r} ({e}); give MODULE:FUNCTION importable here",
                                 param_hint="--generator") from None


def register(group: click.Group) -> None:
    for command in (search, draft):
        group.add_command(command)
