"""Verbs of task heads: heads list, train, predict, explain, remove."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .options import library_option, open_lib, parse_where


@click.group()
def heads() -> None:
    """Task heads on a library: probes, zero-shot prompts and localisation maps (list, train, predict, ...)."""


@heads.command("list")
@library_option()
@click.option("--json", "as_json", is_flag=True, help="Print every head's summary as JSON.")
def heads_list(library: Path, as_json: bool) -> None:
    """List a library's heads with their held-out AUROC and operating point."""
    lib = open_lib(library)
    found, stored = lib.heads.list(), lib.heads.stored_predictions()
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
@library_option()
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
    lib = open_lib(library)
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
                                       where=parse_where(where))
    else:
        if not (labels or all_labels or column):
            raise click.UsageError("say what the head learns: --label, --all-labels or --column")
        head = lib.heads.train(name, labels=labels or None, column=column, manifest=manifest, kind=kind,
                               operating_point=operating_point, where=parse_where(where), seed=seed)
    aurocs = ", ".join(f"{t} {c.auroc:.3f}" for t, c in head.calibrations.items() if c.auroc is not None)
    targets = f"{len(head.targets)} target" + ("s" if len(head.targets) != 1 else "")
    click.echo(f"head {head.name} ({head.kind}, {targets}) saved"
               + (f"; held-out AUROC: {aurocs}" if aurocs else "; no labels to check it on (uncalibrated)"))


@heads.command("predict")
@library_option()
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
    lib = open_lib(library)
    if store:
        click.echo(f"stored {head_name} predictions for {lib.heads.store_predictions(head_name)} images")
        return
    if (image is None) == (image_id is None):
        raise click.UsageError("give exactly one of --image or --id (or --store)")
    query = image_id if image_id is not None else image
    answer = lib.heads.predict(query, head_name)
    if overlay is not None:
        lib.heads.explain(query, head=head_name).overlay().save(overlay)
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
@library_option()
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
    if (text is None) == (head_name is None):
        raise click.UsageError("give exactly one of --text or --head")
    made = open_lib(library).heads.explain(image, text=text, head=head_name, target=target, method=method)
    made.overlay().save(out)
    y, x = made.peak
    click.echo(f"{out}: strongest match for '{made.query}' at {100 * y:.0f}% down, {100 * x:.0f}% across")


@heads.command("remove")
@library_option()
@click.argument("name")
def heads_remove(library: Path, name: str) -> None:
    """Remove a head and its stored predictions."""
    open_lib(library).heads.remove(name)
    click.echo(f"removed head {name}")


def register(group: click.Group) -> None:
    group.add_command(heads)
