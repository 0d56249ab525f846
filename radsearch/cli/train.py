"""Verbs that make and measure encoders: train, align, eval."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .options import json_option, library_option, open_lib


@click.command()
@click.option("--manifest", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Manifest CSV of the training images (and reports, labels).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (Hugging Face layout).")
@click.option("--preset", default="auto", show_default=True,
              help="Architecture preset (models/presets); auto: as the recipe choice says (tiny for a named recipe).")
@click.option("--recipe", default="auto", show_default=True,
              help="auto (chosen from the manifest's share of reports, labels and body parts, and said why), or "
                   "contrastive, ssl, supervised, anatomy, or a combination such as supervised+anatomy.")
@click.option("--label-text/--no-label-text", default=None,
              help="Images without a report learn a sentence built from their labels, so text search works on "
                   "labelled archives [default: as auto chooses; off for a named recipe].")
@click.option("--require-better", is_flag=True,
              help="Exit with status 1 when the new model scores below pixels or random weights on held-out "
                   "images (for automated pipelines; the model is still written, with its card).")
@click.option("--weight", "weights", multiple=True, metavar="NAME=W",
              help="Weight of one objective in a combination, e.g. ssl=0.5 (repeatable).")
@click.option("--epochs", type=int, help="Passes over the training split (default: the recipe's: 60, or 100 where "
                                          "auto chose the labelled recipe).")
@click.option("--ema", type=click.FloatRange(min=0, max=1, max_open=True), default=0.0, show_default=True,
              metavar="DECAY", help="Save a moving average of the weights over the optimizer steps with this decay, "
                                    "e.g. 0.99, instead of the last step's weights (0: off).")
@click.option("--label-memory", type=click.IntRange(min=0), metavar="N",
              help="The labels objective also compares each image with the N embeddings of the batches before "
                   "[default: as auto chooses (256 for labelled archives); 0 for a named recipe].")
@click.option("--image-size", type=click.IntRange(min=32),
              help="Input side in pixels instead of the preset's (more keeps fine detail, costs time as its square).")
@click.option("--contrast", type=click.Choice(["as_read", "stretch"]), default="as_read", show_default=True,
              help="stretch: each image's own 1st-99th percentile window (archives of mixed exposure).")
@click.option("--threads", type=click.IntRange(min=1), help="torch threads [default: one per core it may use].")
@click.option("--batch-size", type=int, help="Images per batch.")
@click.option("--accumulate", type=int, help="Batches per optimizer step (gradient accumulation).")
@click.option("--lr", type=float, help="Peak learning rate.")
@click.option("--checkpoint-every", type=int, help="Also checkpoint every N optimizer steps (default: each epoch).")
@click.option("--init-image", type=click.Path(exists=True, file_okay=False),
              help="Local pretrained image tower: a ViT, DINOv2 (with registers), ConvNeXt, Swin, BEiT, CLIP or "
                   "SigLIP directory in the Hugging Face layout.")
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
              help="auto: bf16 autocast on a GPU that computes bf16, fp32 on a CPU (where bf16 training ran from "
                   "1.3x to 0.86x fp32's speed). Weights are saved in fp32 either way.")
@click.option("--seed", default=0, show_default=True)
def train(manifest: Path, out: Path, preset: str, recipe: str, weights: tuple[str, ...], epochs: int | None,
          ema: float, label_memory: int | None, image_size: int | None, contrast: str, threads: int | None,
          batch_size: int | None, accumulate: int | None, lr: float | None, checkpoint_every: int | None,
          init_image: str | None, init_text: str | None, freeze: tuple[str, ...], projection_only: bool,
          pool_study: bool, report_sections: str, device: str, precision: str, seed: int, label_text: bool | None,
          require_better: bool) -> None:
    """Train image and text encoders on a manifest's train split, then evaluate them on held-out images against
    pixels and random weights and write the model card; resumes if interrupted."""
    from ..evaluation.model_card import train_with_card
    from ..training import TrainSettings
    settings = TrainSettings(preset=preset, recipe=recipe, seed=seed, init_image=init_image or "",
                             label_text=label_text, ema=ema, label_memory=label_memory, contrast=contrast,
                             threads=threads or 0,
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
                        ("checkpoint_every", checkpoint_every), ("image_size", image_size)):
        if value is not None:
            setattr(settings, name, value)
    outcome = train_with_card(manifest, out, settings, say=click.echo)
    if outcome.report is not None:
        click.echo(outcome.report.table())
    click.echo(f"model written to {outcome.model_dir}")
    worse = outcome.report is not None and not outcome.better
    click.secho(f"model card: {outcome.verdict}", fg="red" if worse else None, bold=worse)
    if worse and require_better:
        click.secho("error: --require-better: the model is worse than a baseline (see its README.md)", fg="red",
                    err=True)
        sys.exit(1)


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The image encoder to give a text side (any family radsearch reads, e.g. RAD-DINO); kept locked.")
@click.option("--manifest", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Manifest whose reports the text side learns from.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (image model, text tower, projection).")
@click.option("--text-tower", type=click.Path(exists=True, file_okay=False),
              help="Local BERT-family text checkpoint with its tokenizer (e.g. PubMedBERT); default: radsearch's "
                   "small tower with a vocabulary of the reports.")
@click.option("--epochs", type=int, help="Passes over the studies with reports (default 30).")
@click.option("--batch-size", type=int, help="Studies per batch (default 64).")
@click.option("--lr", type=float, help="Learning rate of the projection (a pretrained tower gets a tenth).")
@click.option("--report-sections", type=click.Choice(["impression", "findings+impression"]), default="impression",
              show_default=True, help="Report text the text side learns (and the report index embeds).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, or cuda[:N].")
@click.option("--seed", default=0, show_default=True)
def align(model_dir: Path, manifest: Path, out: Path, text_tower: str | None, epochs: int | None,
          batch_size: int | None, lr: float | None, report_sections: str, device: str, seed: int) -> None:
    """Give an image-only model a text side: locked-image tuning of a text tower on the reports; resumes if
    interrupted."""
    from ..training import AlignSettings
    from ..training import align as run_alignment
    settings = AlignSettings(text_tower=text_tower or "", report_sections=report_sections, device=device, seed=seed)
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr)):
        if value is not None:
            setattr(settings, name, value)
    click.echo(f"model written to {run_alignment(model_dir, manifest, out, settings)}")


@click.command(name="eval")
@library_option()
@click.option("--queries", type=click.Path(dir_okay=False, path_type=Path),
              help="Manifest whose rows are the queries (label overlap). Without it only the queries readers "
                   "judged in the UI or over REST are scored.")
@click.option("-k", default=10, show_default=True)
@click.option("--split", default="test", show_default=True, help="Use only rows of this split ('' for all).")
@click.option("--baseline", "baselines", multiple=True, type=click.Choice(["random-init", "pixels"]),
              help="Also score a same-run baseline: random-init weights, or downsampled pixels (repeatable).")
@click.option("--compare", "compare", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Also score another encoder's model directory (any family radsearch reads) on the same "
                   "gallery and queries: a bake-off (repeatable).")
@click.option("--drafts", is_flag=True,
              help="Also score report drafts: label F1 against copying the single nearest report.")
@json_option
def evaluate(library: Path, queries: Path, k: int, split: str, baselines: tuple[str, ...],
             compare: tuple[Path, ...], drafts: bool, as_json: bool) -> None:
    """Retrieval quality: precision/mAP/nDCG@K, recall@K, probe AUROC, per label and body part; beside
    same-run baselines and other encoders (--compare); and precision on the queries readers judged."""
    from ..evaluation.drafting import evaluate_drafts
    from ..evaluation.judged import judged_precision
    from ..evaluation.retrieval import evaluate as run_eval
    lib = open_lib(library)
    judged = judged_precision(lib, k)
    if queries is None and not judged.queries:
        raise click.UsageError("give --queries MANIFEST: this library has no judged queries yet (mark results "
                               "relevant or not in the UI, or POST /feedback)")
    report = run_eval(lib, queries, k=k, split=split or None, baselines=baselines, progress=not as_json,
                      compare=compare) if queries else None
    drafting = evaluate_drafts(lib, queries, k=k, split=split or None, progress=not as_json) \
        if drafts and queries else None
    if as_json:
        click.echo(json.dumps((report.to_dict() if report else {}) | {"judged": judged.to_dict()}
                              | ({"drafting": drafting.to_dict()} if drafting else {})))
        return
    if report:
        click.echo(report.table() + "\n")
    click.echo(judged.table())
    if drafting:
        click.echo("\n" + drafting.table())


def register(group: click.Group) -> None:
    for command in (train, align, evaluate):
        group.add_command(command)
