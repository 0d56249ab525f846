"""`radsearch train` end to end: train, evaluate the new model on held-out rows against pixels and random
weights in the same run, and write the figures into the model directory's card, so that no model leaves
training without saying whether it is worth using.

The held-out rows are the manifest's `val` split; where it has none, a share of the training patients is
held out before training (never trained on). The card is README.md (for people) and evaluation.json (for
`radsearch index` and pipelines: models.card.card_verdict reads it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..datasets import ManifestRecord, read_manifest
from ..files import atomic_write_bytes
from ..models import load_encoder
from ..models.card import CARD_FILE, EVALUATION_FILE, EVALUATION_MARK
from ..training import TrainSettings, train
from ..training.loop import resolve_recipe, training_records
from ..training.recipes import ArchiveShape
from .holdout import evaluate_holdout
from .retrieval import RetrievalReport

log = logging.getLogger(__name__)
HELD_OUT_SHARE = 0.1  # of the training patients, where the manifest has no val split
MIN_HELD_OUT = 5  # fewer held-out images than this tell nothing: the card says so instead of a table
TOLERANCE = 0.0  # a headline figure below a baseline's by more than this is a failure


@dataclass
class TrainingOutcome:
    """What `train_with_card` made: the model directory, the figures and the verdict."""

    model_dir: Path
    recipe: str
    reason: str  # why auto chose the recipe ("" when one was given)
    report: RetrievalReport | None
    held_out: str  # where the evaluation rows came from
    shortfalls: list[str] = field(default_factory=list)  # headline figures below a baseline, in words

    @property
    def better(self) -> bool:
        return self.report is not None and not self.shortfalls

    @property
    def verdict(self) -> str:
        if self.report is None:
            return f"not evaluated: {self.held_out}"
        if self.shortfalls:
            return "WORSE than a baseline on held-out images: " + "; ".join(self.shortfalls)
        m = self.report.model
        best = max(b.image_precision_at_k for b in self.report.baselines) if self.report.baselines else None
        word = "better than" if best is None or m.image_precision_at_k > best else "no worse than"
        return (f"{word} pixels and random weights on {self.report.queries} held-out images "
                f"(image precision@{self.report.k} {m.image_precision_at_k:.3f}"
                + (f" vs {best:.3f} for the better baseline" if best is not None else "") + ")")


def held_out_rows(manifest: str | Path, settings: TrainSettings) -> tuple[list[ManifestRecord],
                                                                         list[ManifestRecord], str]:
    """(rows to train on, rows to evaluate on, where the latter came from)."""
    records = training_records(manifest, settings)
    val = [r for r in read_manifest(manifest) if r.split == "val"]
    if val:
        return records, val, f"the manifest's val split ({len(val)} images)"
    held = [r for r in records if _held_out(r)]
    if len(held) < MIN_HELD_OUT or len(held) == len(records):
        return records, [], (f"the manifest has no val split and too few training images to hold out "
                             f"{HELD_OUT_SHARE:.0%} of its patients")
    kept = [r for r in records if not _held_out(r)]
    return kept, [replace(r, split="val") for r in held], (
        f"{len(held)} images of {HELD_OUT_SHARE:.0%} of the training patients, held out from training "
        "(the manifest has no val split)")


def _held_out(record: ManifestRecord) -> bool:
    """A stable, patient-grouped draw: every image of a patient falls on the same side."""
    key = record.patient_id or record.study_id or record.path
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < HELD_OUT_SHARE


def train_with_card(manifest: str | Path, out: str | Path, settings: TrainSettings | None = None,
                    progress: bool = True, say: Callable[[str], None] = log.info) -> TrainingOutcome:
    """Train as `radsearch train` does, evaluate on held-out rows and write the model card; `say` hears the
    recipe choice and the verdict."""
    settings = settings or TrainSettings()
    out = Path(out)
    records, queries, held_out = held_out_rows(manifest, settings)
    settings, reason = resolve_recipe(settings, records)
    if reason:
        say(f"recipe auto: {settings.recipe}, because {reason}")
    train(manifest, out, settings, progress=progress, records=records)
    report = None
    if queries:
        model = load_encoder(out)
        report = evaluate_holdout(model, records + queries, queries, progress=progress, seed=settings.seed)
    outcome = TrainingOutcome(out, settings.recipe, reason, report, held_out,
                              shortfalls(report) if report else [])
    write_card(out, outcome, ArchiveShape.of(records), settings)
    return outcome


def shortfalls(report: RetrievalReport, tolerance: float = TOLERANCE) -> list[str]:
    """Each headline figure of the model that a baseline beats: image precision@k, the linear probe's mean
    AUROC and (against baselines with a text side) text precision@k."""
    out = []
    m = report.model
    for baseline in report.baselines:
        pairs = [(f"image precision@{report.k}", m.image_precision_at_k, baseline.image_precision_at_k),
                 ("linear-probe AUROC", m.probe_auroc_mean, baseline.probe_auroc_mean),
                 (f"text precision@{report.k}", m.text_precision_at_k, baseline.text_precision_at_k)]
        for name, mine, theirs in pairs:
            if mine is not None and theirs is not None and mine < theirs - tolerance:
                out.append(f"{name} {mine:.3f} < {baseline.name} {theirs:.3f}")
    return out


def write_card(out: Path, outcome: TrainingOutcome, shape: ArchiveShape, settings: TrainSettings) -> None:
    """Append the evaluation to the model's README.md and write evaluation.json beside it."""
    today = dt.date.today().isoformat()
    summary = {"date": today, "verdict": outcome.verdict, "better_than_baselines": outcome.better,
               "shortfalls": outcome.shortfalls, "recipe": outcome.recipe, "recipe_reason": outcome.reason,
               "held_out": outcome.held_out, "data": shape.__dict__, "epochs": settings.epochs,
               "precision": settings.precision, "ema": settings.ema, "label_memory": settings.label_memory,
               "preset": settings.preset, "seed": settings.seed,
               "figures": outcome.report.to_dict() if outcome.report else None}
    atomic_write_bytes(out / EVALUATION_FILE, json.dumps(summary, indent=1).encode())
    card = out / CARD_FILE
    text = card.read_text() if card.is_file() else f"# radsearch model {out.name}\n"
    text = text.split(EVALUATION_MARK)[0].rstrip() + "\n\n" + card_section(outcome, shape, settings, today)
    atomic_write_bytes(card, text.encode())


def card_section(outcome: TrainingOutcome, shape: ArchiveShape, settings: TrainSettings, today: str) -> str:
    """The model card's evaluation section in Markdown."""
    lines = [EVALUATION_MARK, "", f"**Verdict ({today}):** {outcome.verdict}.", "",
             f"Data: {shape.describe()}. Recipe: {outcome.recipe}"
             + (f" (chosen by auto: {outcome.reason})" if outcome.reason else "")
             + f"; preset {settings.preset}, {settings.epochs} epochs in {settings.precision}"
             + (f", saved as the moving average of its weights (decay {settings.ema})" if settings.ema else "")
             + (f", labels compared with the {settings.label_memory} embeddings of the batches before"
                if settings.label_memory and "labels" in outcome.recipe.split("+") else "")
             + f", seed {settings.seed}.",
             "",
             f"Held out: {outcome.held_out}. The gallery is every training and held-out image; a query's own "
             "patient is never its neighbour; an unlabelled image is normal only within its own source. Pixels "
             "are 16x16 thumbnails; random-init is this architecture with untrained weights, both measured in "
             "the same run.", ""]
    if outcome.report is not None:
        lines += ["```", outcome.report.table(), "```", ""]
    return "\n".join(lines) + "\n"
