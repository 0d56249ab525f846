"""Training data: manifest rows decoded once into an in-memory tensor, plus batch augmentations."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..datasets import ManifestRecord, embedding_text, source_of
from ..datasets.label_text import label_keys, label_sentence, label_vocabularies
from ..errors import UnreadableImage
from ..imaging import PreprocessProfile, preprocess, read

log = logging.getLogger(__name__)


@dataclass
class TrainingSet:
    """Decoded images with what each recipe needs: report text, labels, and which labels are known."""

    pixels: torch.Tensor  # (N, C, H, W) preprocessed
    reports: list[str]  # text the text tower learns (datasets.embedding_text); "" for an image without a report
    labels: torch.Tensor  # (N, L) 1.0 where the image carries label l
    known: torch.Tensor  # (N, L) 1.0 where the image's source annotates label l (else the label is masked)
    label_names: list[str]
    studies: list[str]  # study id of each image (manifest study_id), for study-level pooling
    parts: torch.Tensor | None = None  # (N,) index into part_names of each image's body part; -1 where unknown
    part_names: list[str] | None = None
    label_texts: int = 0  # images whose text is a sentence built from their labels (no report)
    label_sets: torch.Tensor | None = None  # (N, S) 0/1: labels, and "normal" per source (datasets.label_text)

    def __len__(self) -> int:
        return len(self.reports)


def load_training_set(records: list[ManifestRecord], profile: PreprocessProfile, reported_only: bool,
                      progress: bool = True, report_sections: str = "impression",
                      label_text: bool = False) -> TrainingSet:
    """Decode the images (only those with a text when reported_only); unreadable files are skipped.

    A label counts as annotated for every image of a source where any image carries it, so a
    dataset that never labels "fracture" does not teach that its images have none. With `label_text`,
    an image without a report gets a sentence built from its labels (datasets.label_text) as its text.
    Images are decoded in manifest order in this process, so the tensor never depends on timing.
    """
    vocabulary = label_vocabularies(records)
    names = sorted(set().union(*vocabulary.values())) if vocabulary else []
    column = {name: n for n, name in enumerate(names)}
    part_names = sorted({r.body_part for r in records if r.body_part})
    part_column = {name: n for n, name in enumerate(part_names)}
    images, reports, labels, known, studies, parts, sets = [], [], [], [], [], [], []
    label_texts = 0
    for record in tqdm(records, desc="decode", unit="img", disable=not progress):
        text = embedding_text(record.report, report_sections) if record.report else ""
        if not text and label_text:
            text = label_sentence(record, vocabulary)
            label_texts += bool(text)
        if reported_only and not text:
            continue
        try:
            images.append(preprocess(read(record.path), profile))
        except UnreadableImage as e:
            log.warning("skipping %s", e)
            label_texts -= bool(text and not record.report)
            continue
        reports.append(text)
        parts.append(part_column.get(record.body_part, -1))
        row, mask = np.zeros(len(names), np.float32), np.zeros(len(names), np.float32)
        for name in record.labels:
            row[column[name]] = 1.0
        for name in vocabulary[source_of(record)]:
            mask[column[name]] = 1.0
        labels.append(row)
        known.append(mask)
        studies.append(record.study_id)
        sets.append(label_keys(record, vocabulary))
    if not images:
        which = "no readable image with a report" if reported_only else "no readable image"
        raise ValueError(f"{which} in the training manifest")
    keys = sorted(set().union(*sets)) if sets else []
    membership = np.zeros((len(sets), len(keys)), np.float32)
    for n, held in enumerate(sets):
        membership[n, [keys.index(key) for key in held]] = 1.0
    return TrainingSet(torch.from_numpy(np.stack(images)), reports, torch.from_numpy(np.stack(labels)),
                       torch.from_numpy(np.stack(known)), names, studies, torch.tensor(parts, dtype=torch.long),
                       part_names, label_texts, torch.from_numpy(membership))


def _uniform(b: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(b, generator=generator)


def _affine(batch: torch.Tensor, generator: torch.Generator, degrees: float, zoom: tuple[float, float],
            shift: float) -> torch.Tensor:
    b = batch.shape[0]
    angle = _uniform(b, -degrees, degrees, generator) * math.pi / 180
    scale = _uniform(b, *zoom, generator)  # > 1 samples a smaller region: a crop, enlarged
    tx, ty = _uniform(b, -shift, shift, generator), _uniform(b, -shift, shift, generator)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    low = batch.amin(dim=(1, 2, 3), keepdim=True)
    return F.grid_sample(batch - low, grid, align_corners=False, padding_mode="zeros") + low


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Small positioning and exposure changes a radiograph really shows. No flips: laterality matters.

    batch: (B, C, H, W) normalised pixels; returns the same shape.
    """
    b = batch.shape[0]
    out = _affine(batch, generator, degrees=6, zoom=(0.9, 1.1), shift=0.06)
    contrast = _uniform(b, 0.85, 1.15, generator).view(b, 1, 1, 1)
    brightness = _uniform(b, -0.15, 0.15, generator).view(b, 1, 1, 1)
    noise = torch.randn(out.shape, generator=generator) * 0.05
    return out * contrast + brightness + noise


def ssl_augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A stronger view for self-supervision: crop and scale, rotation, gamma, blur, noise; still no flips."""
    b = batch.shape[0]
    out = _affine(batch, generator, degrees=10, zoom=(1.0, 1.5), shift=0.1)
    low, high = out.amin(dim=(1, 2, 3), keepdim=True), out.amax(dim=(1, 2, 3), keepdim=True)
    unit = ((out - low) / (high - low).clamp(min=1e-6)).clamp(0, 1)
    gamma = torch.exp((torch.rand(b, generator=generator) - 0.5) * 0.8).view(b, 1, 1, 1)  # about 0.67..1.5
    out = unit.pow(gamma) * (high - low) + low
    sigma = torch.rand(b, generator=generator) * 1.2  # px; below ~0.3 the kernel is nearly the identity
    out = _blur(out, sigma)
    return out + torch.randn(out.shape, generator=generator) * 0.05


def _blur(batch: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-image Gaussian blur with a 5x5 kernel of standard deviation sigma (B,)."""
    b, c = batch.shape[:2]
    offsets = torch.arange(-2, 3, dtype=batch.dtype)
    weights = torch.exp(-offsets[None] ** 2 / (2 * sigma.clamp(min=1e-3)[:, None] ** 2))  # (B, 5)
    weights = weights / weights.sum(dim=1, keepdim=True)
    kernel = (weights[:, :, None] * weights[:, None, :]).repeat_interleave(c, dim=0)[:, None]  # (B*C, 1, 5, 5)
    flat = batch.reshape(1, b * c, *batch.shape[2:])
    return F.conv2d(F.pad(flat, (2, 2, 2, 2), mode="replicate"), kernel, groups=b * c).reshape(batch.shape)
