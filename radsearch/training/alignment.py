"""`align`: give an image-only encoder a text side by locked-image tuning (LiT, Zhai et al. 2022).

The image encoder stays exactly as it is, so its vectors are computed once per study (the mean of the
study's views, renormalised) and cached; only a text tower and its projection into the image space learn,
by symmetric InfoNCE against those fixed vectors. On a CPU that is minutes, not the hours of training
image towers. The text tower is a local BERT-family checkpoint (e.g. PubMedBERT) fine-tuned at a tenth of
the rate, or radsearch's small one trained from scratch with a vocabulary of the archive's reports.
Checkpoints each epoch; an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..datasets import embedding_text, read_manifest
from ..errors import RadsearchError, UnreadableImage
from ..files import atomic_path
from ..imaging import read
from ..models import (
    embed_radiographs,
    load_encoder,
    load_preset,
    load_tokenizer,
    load_tower,
    new_text_tower,
    pretrained_tokenizer,
    train_wordpiece,
)
from ..models.aligned import AlignedEncoder, TextSide
from .loop import lr_factor, training_device
from .loss import contrastive_loss, matching_targets

log = logging.getLogger(__name__)
SMALL_TEXT_PRESET = "tiny"  # radsearch's own text tower when no checkpoint is given: the tiny preset's BERT


@dataclass
class AlignSettings:
    """Defaults for a CPU; each has its reason."""

    text_tower: str = ""  # local BERT-family checkpoint with its tokenizer; "" = radsearch's small one
    epochs: int = 30  # the image side is cached: an epoch is only the text tower over the reports
    batch_size: int = 64  # negatives per step, as in training
    lr: float = 5e-4  # projection, temperature and a new tower; a pretrained tower gets lr * PRETRAINED_LR
    weight_decay: float = 0.05
    warmup_steps: int = 10
    seed: int = 0
    splits: tuple[str, ...] = ("train",)  # never align on val/test patients
    report_sections: str = "impression"
    max_text_length: int = 96
    device: str = "auto"


PRETRAINED_LR = 0.1  # fine-tune a published text tower gently: a high rate forgets what it knew


def align(model_dir: str | Path, manifest: str | Path, out: str | Path, settings: AlignSettings | None = None,
          progress: bool = True) -> Path:
    """Train a text side for the image encoder in `model_dir` on the reports of `manifest`; write `out`."""
    settings = settings or AlignSettings()
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    device = training_device(settings.device)
    image = load_encoder(model_dir)
    images, texts = _study_pairs(image, manifest, settings, partial, progress)
    torch.manual_seed(settings.seed)
    text = _text_side(settings, texts, image.embed_dim, partial).to(device)
    tower_params = list(text.tower.parameters())
    tower_lr = settings.lr * (PRETRAINED_LR if settings.text_tower else 1.0)
    optimizer = torch.optim.AdamW([
        {"params": tower_params, "lr": tower_lr},
        {"params": [p for n, p in text.named_parameters() if not n.startswith("tower.")], "lr": settings.lr}],
        weight_decay=settings.weight_decay)
    steps_per_epoch = max(1, len(texts) // settings.batch_size)
    total = steps_per_epoch * settings.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, settings.warmup_steps, total))
    generator = torch.Generator().manual_seed(settings.seed)
    checkpoint = partial / "align.pt"
    start = _resume(checkpoint, settings, len(texts), text, optimizer, schedule, generator)
    bar = tqdm(total=total, initial=start * steps_per_epoch, desc="align", unit="step", disable=not progress)
    for epoch in range(start, settings.epochs):
        text.train()
        order = torch.randperm(len(texts), generator=generator)
        losses = []
        for step in range(steps_per_epoch):
            idx = order[step * settings.batch_size:(step + 1) * settings.batch_size]
            batch = [texts[i] for i in idx.tolist()]
            loss = contrastive_loss(images[idx].to(device), text(batch), text.logit_scale, matching_targets(batch))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(text.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
        with open(partial / "train_log.jsonl", "a") as fh:
            fh.write(json.dumps({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                                 "temperature": float(1 / text.logit_scale.exp().item())}) + "\n")
        state = {"text": text.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                 "rng": generator.get_state(), "torch_rng": torch.get_rng_state(), "epoch": epoch + 1,
                 "settings": asdict(settings), "pairs": len(texts)}
        with atomic_path(checkpoint) as tmp:
            torch.save(state, tmp)
    bar.close()
    meta = {"report_sections": settings.report_sections,
            "training": {"recipe": "locked-image", "image_model": str(model_dir), "image_family":
                         image.info.get("family", ""), "text_tower": settings.text_tower or "radsearch-small",
                         "trained_towers": ["text"], "report_sections": settings.report_sections,
                         "pairs": len(texts), "epochs": settings.epochs}}
    aligned = AlignedEncoder(image, text.to("cpu").eval(), meta)
    aligned.save_pretrained(out)
    shutil.copy(partial / "train_log.jsonl", out / "train_log.jsonl")
    shutil.rmtree(partial, ignore_errors=True)
    return out


def _study_pairs(image, manifest: str | Path, settings: AlignSettings, partial: Path,  # noqa: ANN001
                 progress: bool) -> tuple[torch.Tensor, list[str]]:
    """(studies, D) fixed image vectors (a study's views averaged) and each study's report text; cached in
    `partial` for the image model, so a resumed run does not embed again."""
    records = [r for r in read_manifest(manifest) if (r.split in settings.splits or not r.split) and r.report]
    if not records:
        raise RadsearchError(f"{manifest} has no rows with a report in splits {', '.join(settings.splits)}: "
                             "aligning a text side needs reports")
    studies: dict[str, list] = {}
    for record in records:
        studies.setdefault(record.study_id or record.path, []).append(record)
    keys = sorted(studies)
    cache = partial / "image_vectors.npz"
    if cache.is_file():
        stored = np.load(cache, allow_pickle=False)
        if str(stored["model_id"]) == image.model_id and stored["keys"].tolist() == keys:
            return torch.from_numpy(stored["vectors"]), [str(t) for t in stored["texts"]]
    vectors, texts = [], []
    for key in tqdm(keys, desc="embed images (locked)", unit="study", disable=not progress):
        radiographs = []
        for record in studies[key]:
            try:
                radiographs.append(read(record.path))
            except UnreadableImage as e:
                log.warning("skipping %s", e)
        if not radiographs:
            continue
        mean = embed_radiographs(image, radiographs).mean(axis=0)
        vectors.append(mean / max(float(np.linalg.norm(mean)), 1e-8))
        texts.append(embedding_text(studies[key][0].report, settings.report_sections))
    if len(texts) < 2:
        raise RadsearchError(f"{manifest} has {len(texts)} readable studies with reports; aligning needs several")
    matrix = np.stack(vectors).astype(np.float32)
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, vectors=matrix, texts=np.array(texts), keys=np.array(keys), model_id=np.array(image.model_id))
    return torch.from_numpy(matrix), texts


def _text_side(settings: AlignSettings, texts: list[str], embed_dim: int, partial: Path) -> TextSide:
    """The pretrained tower with its tokenizer, or radsearch's small one with a vocabulary of the reports."""
    if settings.text_tower:
        return TextSide(load_tower(settings.text_tower, "text"), pretrained_tokenizer(settings.text_tower),
                        embed_dim, settings.max_text_length)
    preset = load_preset(SMALL_TEXT_PRESET)
    if (partial / "tokenizer.json").is_file():
        tokenizer = load_tokenizer(partial)
    else:
        tokenizer = train_wordpiece(texts, preset.vocab_size)
        tokenizer.save_pretrained(partial)
    return TextSide(new_text_tower(preset, len(tokenizer)), tokenizer, embed_dim, settings.max_text_length)


def _resume(checkpoint: Path, settings: AlignSettings, pairs: int, text: TextSide, optimizer, schedule,  # noqa: ANN001
            generator: torch.Generator) -> int:
    """The epoch to start from: the checkpoint's when it is of these settings and data, else 0."""
    if not checkpoint.is_file():
        return 0
    state = torch.load(checkpoint, weights_only=False)
    if state["settings"] != asdict(settings) or state["pairs"] != pairs:
        log.warning("checkpoint %s is for other settings or data; starting afresh", checkpoint)
        return 0
    text.load_state_dict(state["text"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    generator.set_state(state["rng"])
    torch.set_rng_state(state["torch_rng"])  # dropout draws from torch's global generator
    log.info("resuming alignment at epoch %d", state["epoch"] + 1)
    return int(state["epoch"])
