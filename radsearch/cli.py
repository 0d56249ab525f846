"""The `radsearch` command: a thin adapter over the Python API.

Each command calls the API and only turns domain errors into a one-line message and exit code 1.
Heavy imports happen inside commands so `radsearch --help` is instant.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import click

from . import __version__
from .errors import RadsearchError

log = logging.getLogger("radsearch")
DEMO_STUDIES = 800  # enough patients that the tiny encoder learns the findings (docs/benchmarks.md)


class _Group(click.Group):
    """Prints RadsearchError (and bad paths) as `error: ...` without a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except (RadsearchError, FileNotFoundError, ValueError, KeyError) as e:
            log.debug("failed", exc_info=True)
            click.echo(f"error: {e.args[0] if isinstance(e, KeyError) and e.args else e}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """radsearch: similar-case search over radiographs and their reports."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="radsearch: %(levelname)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # radsearch never downloads weights


@main.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--studies", default=200, show_default=True, help="Number of studies to generate.")
@click.option("--seed", default=0, show_default=True, help="Random seed: the same seed gives the same archive.")
@click.option("--plant", is_flag=True, help="Also plant curation problems (duplicates, leaks, wrong anatomy, flipped "
              "labels, ...) and write their truth to planted.json.")
def synth(out: Path, studies: int, seed: int, plant: bool) -> None:
    """Write a synthetic radiograph archive (DICOM + PNG) and its manifest.csv to OUT."""
    from .datasets import generate_archive
    manifest = generate_archive(out, studies=studies, seed=seed)
    click.echo(f"wrote {manifest}")
    if plant:
        from .datasets.planting import plant_problems
        click.echo(f"planted problems; truth in {plant_problems(out, seed=seed)}")


@main.command("import")
@click.argument("dataset", type=click.Choice(
    ["mimic-cxr-jpg", "chexpert", "nih-cxr14", "padchest", "vindr-cxr", "mura", "openi"]))
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Manifest CSV to write.")
@click.option("--reports", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of the reports when they are not under ROOT (MIMIC-CXR reports, Open-i XML).")
def import_(dataset: str, root: Path, out: Path, reports: Path | None) -> None:
    """Turn a public dataset's layout at ROOT into a manifest CSV (images, labels, reports, splits)."""
    from .datasets.importers import import_dataset
    click.echo(str(import_dataset(dataset, root, out, reports=reports)))


@main.command()
@click.option("--manifest", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Manifest CSV of the training images (and reports, labels).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (Hugging Face layout).")
@click.option("--preset", default="tiny", show_default=True, help="Architecture preset (see models/presets).")
@click.option("--recipe", default="contrastive", show_default=True,
              help="contrastive, ssl, supervised, or a combination such as contrastive+ssl.")
@click.option("--weight", "weights", multiple=True, metavar="NAME=W",
              help="Weight of one objective in a combination, e.g. ssl=0.5 (repeatable).")
@click.option("--epochs", type=int, help="Passes over the training split (default: the preset's tuned value).")
@click.option("--batch-size", type=int, help="Images per batch.")
@click.option("--accumulate", type=int, help="Batches per optimizer step (gradient accumulation).")
@click.option("--lr", type=float, help="Peak learning rate.")
@click.option("--checkpoint-every", type=int, help="Also checkpoint every N optimizer steps (default: each epoch).")
@click.option("--init-image", type=click.Path(exists=True, file_okay=False),
              help="Local pretrained image tower (ViT, DINOv2 or ConvNeXt directory).")
@click.option("--init-text", type=click.Path(exists=True, file_okay=False),
              help="Local pretrained BERT-family text tower with its tokenizer.")
@click.option("--freeze", multiple=True, type=click.Choice(["image", "text"]), help="Keep a tower fixed (repeatable).")
@click.option("--projection-only", is_flag=True, help="Freeze both towers: train only the projections.")
@click.option("--pool-study", is_flag=True, help="Contrastive on studies: average a study's views before its report.")
@click.option("--report-sections", type=click.Choice(["impression", "findings+impression"]), default="impression",
              show_default=True, help="Report text the text tower learns (and the report index embeds).")
@click.option("--device", default="auto", show_default=True,
              help="auto (a GPU when torch sees one, else the CPU), cpu, or cuda[:N].")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto", show_default=True,
              help="auto: bf16 autocast on a GPU, fp32 on the CPU. Weights are saved in fp32 either way.")
@click.option("--seed", default=0, show_default=True)
def train(manifest: Path, out: Path, preset: str, recipe: str, weights: tuple[str, ...], epochs: int | None,
          batch_size: int | None, accumulate: int | None, lr: float | None, checkpoint_every: int | None,
          init_image: str | None, init_text: str | None, freeze: tuple[str, ...], projection_only: bool,
          pool_study: bool, report_sections: str, device: str, precision: str, seed: int) -> None:
    """Train image and text encoders on a manifest's train split; resumes if interrupted."""
    from .training import TrainSettings
    from .training import train as run_training
    settings = TrainSettings(preset=preset, recipe=recipe, seed=seed, init_image=init_image or "",
                             report_sections=report_sections, pool_study=pool_study,
                             init_text=init_text or "", device=device, precision=precision,
                             freeze=("image", "text") if projection_only else tuple(dict.fromkeys(freeze)))
    for pair in weights:
        name, _, value = pair.partition("=")
        try:
            settings.weights[name.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(f"{pair!r} is not NAME=NUMBER", param_hint="--weight") from None
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr), ("accumulate", accumulate),
                        ("checkpoint_every", checkpoint_every)):
        if value is not None:
            setattr(settings, name, value)
    click.echo(f"model written to {run_training(manifest, out, settings)}")


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Library directory (created if new).")
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
@click.option("--rehash", is_flag=True,
              help="Read and hash every file, even those whose path, size and modification time are already indexed.")
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help="Embed on a Ray cluster: its address (auto, ray://host:10001) or 'local' to start one here. "
                   "Needs the ray extra.")
def index(source: Path, library: Path, model_dir: Path | None, batch_size: int, workers: int | None,
          keep_identifiers: bool | None, database_url: str | None, rehash: bool, ray_address: str | None) -> None:
    """Index SOURCE (archive folder, manifest CSV or image) into a library; re-runs add only new files."""
    from .indexer import index as run_index
    summary = run_index(source, library, model_dir, batch_size=batch_size, keep_identifiers=keep_identifiers,
                        workers=workers, database_url=database_url, ray_address=ray_address, rehash=rehash)
    click.echo(str(summary))


@main.command()
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--missing", is_flag=True, help="Also remove every image whose file no longer exists.")
def remove(library: Path, paths: tuple[Path, ...], missing: bool) -> None:
    """Remove the images of PATHS (files or folders) from a library: rows, vectors and thumbnails."""
    from .indexer import remove as run_remove
    if not paths and not missing:
        raise click.UsageError("give files or folders to remove, or --missing")
    removed = run_remove(library, paths, missing=missing)
    click.echo(f"removed {removed['images']} images, {removed['reports']} reports and {removed['studies']} studies")


@main.command()
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
def rebuild(library: Path) -> None:
    """Re-create the FAISS indexes from the catalog's stored embeddings (no encoder run)."""
    from .storage import LibraryStore
    counts = LibraryStore.open(library).rebuild_vectors()
    click.echo(", ".join(f"{kind}: {n} vectors" for kind, n in counts.items()))


@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--salt", envvar="RADSEARCH_DEID_SALT",
              help="Secret that makes pseudonyms, UIDs and date shifts repeatable across runs "
                   "(or RADSEARCH_DEID_SALT); random when absent.")
@click.option("--allow-burned-in", is_flag=True,
              help="Also copy images flagged BurnedInAnnotation=YES (review their pixels first).")
def deid(source: Path, out: Path, salt: str | None, allow_burned_in: bool) -> None:
    """Write de-identified copies of the DICOM files under SOURCE to OUT (DICOM basic profile)."""
    from .imaging.deid import deidentify_tree
    click.echo(str(deidentify_tree(source, out, salt=salt, allow_burned_in=allow_burned_in)))


def _parse_where(pairs: tuple[str, ...]) -> dict | None:
    """KEY=VALUE, KEY=A,B (any of) or KEY=LOW..HIGH (range) into the filter dict of the API."""
    where: dict = {}
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


@main.command()
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--image", type=click.Path(dir_okay=False, path_type=Path), help="Query image (DICOM/PNG/JPEG).")
@click.option("--text", help="Query text, e.g. 'left pleural effusion'.")
@click.option("-k", default=10, show_default=True, help="Number of results.")
@click.option("--reports", is_flag=True, help="Return reports instead of images.")
@click.option("--sentences", is_flag=True, help="Return reports ranked by their best-matching sentence.")
@click.option("--by", "group_by", type=click.Choice(["study", "patient"]),
              help="Return studies or patients, scored by their best-matching image.")
@click.option("--include-own", is_flag=True,
              help="Keep the query's own patient and study (images, reports) when the query file is in the library.")
@click.option("--where", multiple=True, help="Filter: body_part=CHEST, view=PA,LAT, age=40..70 (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
def search(library: Path, image: Path | None, text: str | None, k: int, reports: bool, sentences: bool,
           group_by: str | None, include_own: bool, where: tuple[str, ...], as_json: bool) -> None:
    """Search a library with an image or a text."""
    if (image is None) == (text is None):
        raise click.UsageError("give exactly one of --image or --text")
    from .search import open_library
    lib = open_library(library)
    query = str(image) if image is not None else text
    reports = reports or sentences
    if reports:
        if where:
            raise click.UsageError("--where filters image results; drop it with --reports or --sentences")
        if sentences:
            hits = lib.search_sentences(Path(query) if image is not None else query, k)
        else:
            hits = lib.search_reports(Path(query) if image is not None else query, k, include_own=include_own)
    elif group_by:
        hits = lib.search_cases(Path(query) if image is not None else query, k, where=_parse_where(where),
                                by=group_by, include_own=include_own)
    elif image is not None:
        hits = lib.search_image(image, k, where=_parse_where(where), include_own=include_own)
    else:
        hits = lib.search_text(text, k, where=_parse_where(where))
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], indent=2, default=str))
        return
    for rank, hit in enumerate(hits, start=1):
        if group_by:
            click.echo(f"{rank:>3}  {hit.score:.3f}  {group_by} {hit.key}  "
                       f"{len(hit.hits)} matching images, e.g. {hit.hits[0].path}")
        elif reports:  # the sentence that matched, in brackets
            shown = hit.why.highlight(hit.text, ("[", "]")) if hit.why else hit.text
            click.echo(f"{rank:>3}  {hit.score:.3f}  {hit.study_key}  {shown}")
        else:
            meta = hit.metadata
            click.echo(f"{rank:>3}  {hit.score:.3f}  {meta.get('body_part') or '?'}/{meta.get('view') or '?'}  "
                       f"[{', '.join(hit.labels) or 'no findings'}]  {hit.path}")


@main.command()
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--image", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The image to report.")
@click.option("-k", default=10, show_default=True, help="Similar reported studies to draft from.")
@click.option("--generator", metavar="MODULE:FUNCTION",
              help="A site's own text generator, called with (query, cases, consensus draft); returns text.")
@click.option("--json", "as_json", is_flag=True, help="Print the draft, its evidence and the cases as JSON.")
def draft(library: Path, image: Path, k: int, generator: str | None, as_json: bool) -> None:
    """Draft a report for IMAGE from the most similar cases: agreed sentences, each citing its studies."""
    from .search import open_library
    made = open_library(library).draft_report(image, k=k, generator=_load_generator(generator) if generator else None)
    if as_json:
        click.echo(json.dumps({"text": made.text, "uncertain": made.uncertain, "disputed": made.disputed,
                               "sentences": [vars(s) for s in made.sentences],
                               "cases": [{"study_key": c.study_key, "score": c.score} for c in made.cases]},
                              indent=2))
        return
    click.echo(made.text)
    click.echo(f"\nfrom {len(made.cases)} similar studies: "
               + ", ".join(f"{c.study_key} ({c.score:.3f})" for c in made.cases))


def _load_generator(spec: str):  # noqa: ANN202
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise click.BadParameter(f"cannot load {spec!r} ({e}); give MODULE:FUNCTION importable here",
                                 param_hint="--generator") from None


@main.command(name="eval")
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--queries", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Manifest whose rows are the queries.")
@click.option("-k", default=10, show_default=True)
@click.option("--split", default="test", show_default=True, help="Use only rows of this split ('' for all).")
@click.option("--baseline", "baselines", multiple=True, type=click.Choice(["random-init", "pixels"]),
              help="Also score a same-run baseline: random-init weights, or downsampled pixels (repeatable).")
@click.option("--drafts", is_flag=True,
              help="Also score report drafts: label F1 against copying the single nearest report.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate(library: Path, queries: Path, k: int, split: str, baselines: tuple[str, ...], drafts: bool,
             as_json: bool) -> None:
    """Retrieval quality: precision/mAP/nDCG@K, recall@K, probe AUROC, per label and body part."""
    from .evaluation.drafting import evaluate_drafts
    from .evaluation.retrieval import evaluate as run_eval
    from .search import open_library
    lib = open_library(library)
    report = run_eval(lib, queries, k=k, split=split or None, baselines=baselines, progress=not as_json)
    drafting = evaluate_drafts(lib, queries, k=k, split=split or None, progress=not as_json) if drafts else None
    if as_json:
        click.echo(json.dumps(report.to_dict() | ({"drafting": drafting.to_dict()} if drafting else {})))
        return
    click.echo(report.table())
    if drafting:
        click.echo("\n" + drafting.table())


@main.group()
def heads() -> None:
    """Task heads on a library: probes, zero-shot prompts and localisation maps (list, train, predict, ...)."""


@heads.command("list")
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every head's summary as JSON.")
def heads_list(library: Path, as_json: bool) -> None:
    """List a library's heads with their held-out AUROC and operating point."""
    from .search import open_library
    lib = open_library(library)
    found, stored = lib.heads.list(), lib.store.catalog.predicted_heads()
    if as_json:
        click.echo(json.dumps([h.summary() | {"stored_predictions": stored.get(h.name, 0)} for h in found], indent=2))
        return
    if not found:
        click.echo(f"no heads in {library}; train one with `radsearch heads train --library {library} --label NAME`")
    for head in found:
        click.echo(f"{head.name}  ({head.kind}, {head.task}, from {head.source or 'prompts'}"
                   + (f", {stored[head.name]} stored predictions" if head.name in stored else "") + ")")
        for target in head.targets:
            c = head.calibrations.get(target)
            point = (f"threshold {c.point.threshold:.3f} ({c.point.rule}): sensitivity {c.point.sensitivity:.2f}, "
                     f"specificity {c.point.specificity:.2f}") if c and c.point else "uncalibrated"
            auroc = f"AUROC {c.auroc:.3f} on {c.positives}+{c.negatives} held-out" if c and c.auroc is not None \
                else "no held-out AUROC"
            click.echo(f"    {target:<24} {auroc}; {point}")


def _prompt_pairs(pairs: tuple[str, ...], option: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip() or not text.strip():
            raise click.BadParameter(f"{pair!r} is not CLASS=PROMPT", param_hint=option)
        out.setdefault(name.strip(), []).append(text.strip())
    return out


@heads.command("train")
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Head name [default: the label or column].")
@click.option("--label", "labels", multiple=True, help="A label to detect (repeatable: one target each).")
@click.option("--all-labels", is_flag=True, help="Every label of the library, one target each.")
@click.option("--column", help="Classes from an image column (body_part, view, sex, ...) or, with --manifest, "
              "from any manifest column.")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with a path column whose --column gives each image's class.")
@click.option("--kind", type=click.Choice(["linear", "mlp"]), default="linear", show_default=True,
              help="Probe: logistic regression, or one hidden layer.")
@click.option("--zero-shot", is_flag=True, help="No fitting: score --label targets with the prompts "
              "'<label>' against 'no <label>' (or give --prompt/--negative/--class).")
@click.option("--prompt", "prompts", multiple=True, help="Zero-shot: text of the finding (repeatable, averaged).")
@click.option("--negative", "negatives", multiple=True, help="Zero-shot: text of its absence (repeatable).")
@click.option("--class", "classes", multiple=True, metavar="CLASS=PROMPT",
              help="Zero-shot categorical head: one prompt per class (repeatable).")
@click.option("--operating-point", default="youden", show_default=True,
              help="Threshold rule on held-out data: youden, sensitivity=0.9 or specificity=0.95.")
@click.option("--where", multiple=True, help="Train and check on these images only (as in search).")
@click.option("--seed", default=0, show_default=True)
def heads_train(library: Path, name: str | None, labels: tuple[str, ...], all_labels: bool, column: str | None,
                manifest: Path | None, kind: str, zero_shot: bool, prompts: tuple[str, ...], negatives: tuple[str, ...],
                classes: tuple[str, ...], operating_point: str, where: tuple[str, ...], seed: int) -> None:
    """Train a probe head on stored embeddings, or make a zero-shot one from prompts; store it in the library."""
    from .search import open_library
    lib = open_library(library)
    name = name or (labels[0] if len(labels) == 1 else column)
    if not name:
        raise click.UsageError("give --name for this head")
    if prompts or classes or zero_shot:
        if column or manifest or all_labels:
            raise click.UsageError("zero-shot heads take --label, --prompt/--negative or --class, not "
                                   "--column, --manifest or --all-labels")
        if classes:
            head = lib.heads.zero_shot(name, {c: {"positive": p} for c, p in _prompt_pairs(classes, "--class").items()},
                                       task="categorical")
        else:
            given = {name: {"positive": list(prompts), "negative": list(negatives)}} if prompts else {}
            head = lib.heads.zero_shot(name, given, labels=labels, operating_point=operating_point,
                                       where=_parse_where(where))
    else:
        if not (labels or all_labels or column):
            raise click.UsageError("say what the head learns: --label, --all-labels or --column")
        head = lib.heads.train(name, labels=labels or None, column=column, manifest=manifest, kind=kind,
                               operating_point=operating_point, where=_parse_where(where), seed=seed)
    aurocs = ", ".join(f"{t} {c.auroc:.3f}" for t, c in head.calibrations.items() if c.auroc is not None)
    targets = f"{len(head.targets)} target" + ("s" if len(head.targets) != 1 else "")
    click.echo(f"head {head.name} ({head.kind}, {targets}) saved"
               + (f"; held-out AUROC: {aurocs}" if aurocs else "; no labels to check it on (uncalibrated)"))


@heads.command("predict")
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--head", "head_name", required=True, help="Head to run.")
@click.option("--image", type=click.Path(dir_okay=False, path_type=Path), help="An image file (indexed or not).")
@click.option("--id", "image_id", type=int, help="An indexed image's id.")
@click.option("--store", is_flag=True, help="Score every indexed image and keep the answers, so searches can "
              "filter on them (--where head:NAME=yes); later indexing runs keep them complete.")
@click.option("--overlay", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a PNG of where the image matches the head's (first positive) target.")
@click.option("--json", "as_json", is_flag=True)
def heads_predict(library: Path, head_name: str, image: Path | None, image_id: int | None, store: bool,
                  overlay: Path | None, as_json: bool) -> None:
    """Run a head on an image: probability and yes/no per target at its operating point."""
    from .search import open_library
    lib = open_library(library)
    if store:
        click.echo(f"stored {head_name} predictions for {lib.heads.store_predictions(head_name)} images")
        return
    if (image is None) == (image_id is None):
        raise click.UsageError("give exactly one of --image or --id (or --store)")
    query = image_id if image_id is not None else image
    answer = lib.predict(query, head_name)
    if overlay is not None:
        lib.explain(query, head=head_name).overlay().save(overlay)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), indent=2))
        return
    for target, p in answer.targets.items():
        at = f"at {p.rule}" + (f" (sensitivity {p.sensitivity:.2f}, specificity {p.specificity:.2f})"
                               if p.sensitivity is not None else "")
        click.echo(f"{target:<24} {p.probability:.3f}  {'YES' if target in answer.positive else 'no '}  "
                   f"threshold {p.threshold:.3f} {at}")
    if overlay is not None:
        click.echo(f"overlay written to {overlay}")


@heads.command("explain")
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--image", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--text", help="A phrase to find in the image, e.g. 'left pleural effusion'.")
@click.option("--head", "head_name", help="Or a head: its target's evidence.")
@click.option("--target", help="The head's target to explain [default: its first positive one].")
@click.option("--method", type=click.Choice(["occlusion", "tokens"]), default="occlusion", show_default=True,
              help="occlusion: blur each patch window and measure the drop; tokens: one pass over patch tokens.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Overlay PNG to write.")
def heads_explain(library: Path, image: Path, text: str | None, head_name: str | None, target: str | None,
                  method: str, out: Path) -> None:
    """Write an overlay of where IMAGE matches a text phrase or a head's target."""
    from .search import open_library
    if (text is None) == (head_name is None):
        raise click.UsageError("give exactly one of --text or --head")
    made = open_library(library).explain(image, text=text, head=head_name, target=target, method=method)
    made.overlay().save(out)
    y, x = made.peak
    click.echo(f"{out}: strongest match for '{made.query}' at {100 * y:.0f}% down, {100 * x:.0f}% across")


@heads.command("remove")
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.argument("name")
def heads_remove(library: Path, name: str) -> None:
    """Remove a head and its stored predictions."""
    from .search import open_library
    open_library(library).heads.remove(name)
    click.echo(f"removed head {name}")


@main.group()
def curate() -> None:
    """Dataset curation reports as CSV: duplicates, leakage, outliers, label-noise, map."""


_LIBRARY = click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
_OUT = click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV to write.")
_WHERE = click.option("--where", multiple=True, metavar="KEY=VALUE", help="Only images matching (as in search).")


def _curator(library: Path):  # noqa: ANN202
    from .search import open_library
    curator = open_library(library).curate
    curator.progress = True
    return curator


def _report(check: str, rows: list, out: Path, what: str) -> None:
    from .curation import write_rows
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
    from .curation import duplicate_rows
    curator = _curator(library)
    groups = curator.exact_duplicates()
    if not exact_only:
        kwargs = {"threshold": threshold} if threshold is not None else {}
        groups += curator.near_duplicates(_parse_where(where), **kwargs)
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
    from .curation import OUTLIER_CHECKS
    rows = _curator(library).outliers(_parse_where(where), checks or OUTLIER_CHECKS)
    _report("outliers", rows, out, f"{len(rows)} outliers")


@curate.command("label-noise")
@_LIBRARY
@_OUT
@_WHERE
def curate_label_noise(library: Path, out: Path, where: tuple[str, ...]) -> None:
    """Labels that the report or most nearest neighbours contradict, most confident first."""
    rows = _curator(library).label_noise(_parse_where(where))
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
    rows = _curator(library).map(_parse_where(where), method, clusters)
    _report("map", rows, out, f"{len(rows)} images mapped ({rows[0]['method'] if rows else method})")


@main.command()
@_LIBRARY
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Manifest CSV to write.")
@_WHERE
@click.option("--exclude", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A `radsearch curate` CSV: its images are left out unless their action is keep (repeatable).")
def export(library: Path, out: Path, where: tuple[str, ...], exclude: tuple[Path, ...]) -> None:
    """Write a manifest of the library's images, filtered, minus the ones curation reports drop."""
    path, count = _curator(library).export(out, _parse_where(where), exclude)
    click.echo(f"{count} images; wrote {path}")


@main.command()
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; any address but loopback "
              "needs --users.")
@click.option("--port", default=8501, show_default=True)
@click.option("--users", "users_file", envvar="RADSEARCH_USERS", type=click.Path(dir_okay=False, path_type=Path),
              help="Users file (`radsearch users add`): everyone signs in, and searches are audited under their "
                   "name (or RADSEARCH_USERS).")
def ui(library: Path, host: str, port: int, users_file: Path | None) -> None:
    """Start the Streamlit UI on a library and print its URL."""
    from .access import require_auth
    from .config import read_config
    read_config(library)  # fail here, clearly, rather than inside the browser
    require_auth(host, users_file)
    _run_ui(library, host, port, users_file)


def _run_ui(library: Path, host: str, port: int, users_file: Path | None = None) -> None:
    from .access import USERS_ENV
    from .ui.app import MAX_UPLOAD_MB
    app = Path(__file__).parent / "ui" / "app.py"
    upload_mb = max(1, round(float(os.environ.get("RADSEARCH_MAX_UPLOAD_MB", MAX_UPLOAD_MB))))
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", host,
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.maxUploadSize", str(upload_mb),  # the server refuses larger bodies before they are read
               "--", "--library", str(Path(library).resolve())]
    env = dict(os.environ)
    env.pop(USERS_ENV, None)
    if users_file:
        env[USERS_ENV] = str(Path(users_file).resolve())
    click.echo(f"radsearch UI on http://{host}:{port}" + (" (sign-in required)" if users_file else "")
               + "  (Ctrl-C to stop)")
    try:
        subprocess.run(command, check=False, env=env)
    except KeyboardInterrupt:
        pass


@main.command()
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
def check(library: Path) -> None:
    """Verify a library: catalog, one vector per row in every index, the model's hash, no orphan files."""
    from .storage.integrity import check_library
    report = check_library(library, progress=True)
    click.echo(str(report))
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
def repair(library: Path) -> None:
    """Rebuild what derives from the catalog (FAISS indexes, thumbnails) and clear leftovers of killed writes."""
    from .indexer.repair import repair_library
    summary = repair_library(library)
    click.echo(str(summary))
    if not summary.after.ok:
        sys.exit(1)


@main.command()
@click.option("--library", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--user", help="Only this user's searches (UI logins by name; others as os:ACCOUNT).")
@click.option("--since", help="Only searches at or after this UTC time, e.g. 2026-11-01 or 2026-11-01T08:00.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def audit(library: Path, user: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """Show the audit log: who searched what, when, and which results they were shown."""
    from .storage import LibraryStore
    entries = LibraryStore.open(library).catalog.audit_log(limit, user=user, since=since)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for entry in entries:
        where = f"  where {json.dumps(entry['filters'])}" if entry["filters"] else ""
        click.echo(f"{entry['at']}  {entry['user']}  {entry['action']}  {entry['query']}{where}  "
                   f"-> {len(entry['results'])} results")


@main.group()
def users() -> None:
    """Manage the users file of a served UI: add or remove people's access tokens."""


@users.command("add")
@click.option("--file", "users_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("name")
def users_add(users_file: Path, name: str) -> None:
    """Give NAME a new access token (replacing any earlier one); the token is printed once, stored hashed."""
    from .access import add_user
    token = add_user(users_file, name)
    click.echo(f"{name}: {token}")
    click.echo(f"(give this token to {name}; {users_file} keeps only its hash)", err=True)


@users.command("remove")
@click.option("--file", "users_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("name")
def users_remove(users_file: Path, name: str) -> None:
    """Revoke NAME's access token."""
    from .access import remove_user
    remove_user(users_file, name)
    click.echo(f"removed {name}")


@main.command()
@click.option("--dir", "workdir", default="radsearch-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where the archive, model and library go.")
@click.option("--studies", default=DEMO_STUDIES, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--no-ui", is_flag=True, help="Print example searches instead of starting the UI.")
@click.option("--port", default=8501, show_default=True)
def demo(workdir: Path, studies: int, seed: int, no_ui: bool, port: int) -> None:
    """Synthesise an archive, train encoders, index it and open the UI (each step resumes if re-run)."""
    from .demo import prepare_demo, print_examples
    library = prepare_demo(workdir, studies=studies, seed=seed, echo=click.echo)
    if no_ui:
        print_examples(library, workdir / "archive" / "manifest.csv", echo=click.echo)
    else:
        _run_ui(library, "127.0.0.1", port)


if __name__ == "__main__":
    main()
