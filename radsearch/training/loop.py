"""The training loop: manifest in, model directory out; checkpoints every epoch and resumes."""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from ..datasets import read_manifest
from ..imaging import PreprocessProfile
from ..models import RadsearchModel, build_dual_encoder, load_preset, train_wordpiece
from .data import augment, load_pairs
from .loss import contrastive_loss, matching_targets

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    """Defaults tuned for the tiny preset on 2 CPU cores; each has its reason."""

    preset: str = "tiny"
    epochs: int = 60  # 40 gave p@10 0.78, 60 gave 0.83 on the demo archive (docs/benchmarks.md)
    batch_size: int = 64  # more negatives per step help InfoNCE; 64 fits CPU memory easily
    lr: float = 5e-4  # AdamW; from-scratch tiny towers tolerate a high rate with warm-up
    weight_decay: float = 0.05
    warmup_steps: int = 20  # avoids early collapse of the randomly initialised towers
    seed: int = 0
    splits: tuple[str, ...] = ("train",)  # never train on val/test patients
    threads: int = 0  # torch intra-op threads; 0 = torch's default (all cores)


def train(manifest: str | Path, out: str | Path, settings: TrainSettings | None = None,
          progress: bool = True) -> Path:
    """Train image and text encoders contrastively on a manifest's reported images; save to `out`.

    An interrupted run resumes from `<out>.partial/` at the last finished epoch.
    """
    settings = settings or TrainSettings()
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    preset = load_preset(settings.preset)
    profile = PreprocessProfile(size=preset.image_size, channels=preset.channels)
    records = [r for r in read_manifest(manifest) if r.split in settings.splits or not r.split]
    if not records:
        raise ValueError(f"no rows in {manifest} with split in {settings.splits}")
    pixels, reports = load_pairs(records, profile, progress=progress)

    checkpoint = partial / "checkpoint.pt"
    if (partial / "tokenizer.json").is_file():
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(partial)
    else:
        tokenizer = train_wordpiece(reports, preset.vocab_size)
        tokenizer.save_pretrained(partial)
    model = RadsearchModel(build_dual_encoder(preset, len(tokenizer)), tokenizer, profile,
                           max_text_length=preset.max_text_length)
    params = model.dual.parameters()
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = max(1, len(reports) // settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, settings.warmup_steps, total_steps))
    start_epoch = 0
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        if state["settings"] == asdict(settings) and state["n_pairs"] == len(reports):
            model.dual.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            start_epoch = state["epoch"]
            log.info("resuming training from epoch %d", start_epoch)
        else:
            log.warning("checkpoint in %s is for other settings or data; starting afresh", partial)

    generator = torch.Generator().manual_seed(settings.seed + start_epoch)
    log_path = partial / "train_log.jsonl"
    bar = tqdm(total=total_steps, initial=start_epoch * steps_per_epoch, desc="train", unit="step",
               disable=not progress)
    model.dual.train()
    for epoch in range(start_epoch, settings.epochs):
        order = torch.randperm(len(reports), generator=generator)
        losses = []
        started = time.time()
        for step in range(steps_per_epoch):
            idx = order[step * settings.batch_size:(step + 1) * settings.batch_size]
            images = augment(pixels[idx], generator)
            texts = [reports[i] for i in idx]
            loss = contrastive_loss(model.image_features(images), model.text_features(texts),
                                    model.dual.logit_scale, matching_targets(texts))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.dual.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
        entry = {"epoch": epoch + 1, "loss": sum(losses) / len(losses), "seconds": round(time.time() - started, 2),
                 "temperature": float(1 / model.dual.logit_scale.detach().exp())}
        with open(log_path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")
        torch.save({"model": model.dual.state_dict(), "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(), "epoch": epoch + 1, "settings": asdict(settings),
                    "n_pairs": len(reports)}, checkpoint.with_suffix(".tmp"))
        checkpoint.with_suffix(".tmp").replace(checkpoint)
    bar.close()
    model.dual.eval()
    model.save_pretrained(out)
    shutil.copy(log_path, out / "train_log.jsonl")
    shutil.rmtree(partial, ignore_errors=True)
    return out


def _lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up then cosine decay to 10%."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(progress * math.pi))
