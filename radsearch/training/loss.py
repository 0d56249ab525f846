"""Symmetric image-report InfoNCE with a learnable temperature (CLIP / ConVIRT).

Reports with identical text are positives of each other: in radiology many reports share
one impression ("No acute cardiopulmonary abnormality."), and treating those pairs as
negatives teaches the encoder to separate images that should match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP's clamp: temperature never below 0.01
LABEL_LOGIT_SCALE = 10.0  # the supervised head's cosine scores times this: about the contrastive logits' range


def matching_targets(texts: Sequence[str]) -> torch.Tensor:
    """(B, B) row-stochastic targets: uniform over the batch items whose text is identical."""
    keys = {text: n for n, text in enumerate(dict.fromkeys(texts))}
    ids = torch.tensor([keys[text] for text in texts])
    same = (ids[:, None] == ids[None, :]).float()
    return same / same.sum(dim=1, keepdim=True)


def contrastive_loss(image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
                     targets: torch.Tensor | None = None) -> torch.Tensor:
    """image, text: (B, D) unit vectors of matching pairs; mean of image->text and text->image CE.

    targets: optional (B, B) probabilities (see `matching_targets`); identity when omitted.
    """
    scale = logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()
    logits = scale * image @ text.T  # (B, B)
    if targets is None:
        targets = torch.eye(image.shape[0], device=image.device)
    targets = targets.to(logits.device)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets.T))


def ssl_loss(view_a: torch.Tensor, view_b: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Image-only InfoNCE (SimCLR-style): two augmented views of an image are each other's positive.

    view_a, view_b: (B, D) unit vectors; the other images of the batch are the negatives.
    """
    return contrastive_loss(view_a, view_b, torch.tensor(math.log(1.0 / temperature)))


def multilabel_loss(logits: torch.Tensor, labels: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy over the labels each image's source annotates; unknown ones are masked out."""
    per_label = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (per_label * known).sum() / known.sum().clamp(min=1.0)


class LabelHead(torch.nn.Module):
    """The supervised recipe's training-only classifier on unit embeddings: a linear layer on the embedding
    times LABEL_LOGIT_SCALE.

    Unscaled, a linear layer on unit vectors needs large weights before its logits move, and AdamW grows
    them by about the learning rate per step: the label loss of the tiny preset fell only from 0.70 to
    0.62 in 18 epochs, so the labels barely shaped the embedding.
    """

    def __init__(self, dim: int, labels: int, scale: float = LABEL_LOGIT_SCALE) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(dim, labels)
        self.scale = scale

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.linear(embeddings * self.scale)


def anatomy_loss(logits: torch.Tensor, parts: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over body parts; images whose body part is unknown (-1) are left out."""
    if not bool((parts >= 0).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, parts, ignore_index=-1)


def label_contrastive_loss(embeddings: torch.Tensor, label_sets: torch.Tensor, temperature: float = 0.1,
                           memory: torch.Tensor | None = None, memory_sets: torch.Tensor | None = None
                           ) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al., 2020) for multi-label images: each image's positives are
    the other images of the batch that share a label with it ("normal" of one source being a label), so
    nearest neighbours come to share findings, which is what image search is judged on.

    embeddings: (B, D) unit vectors; label_sets: (B, L) 0/1 membership (datasets.label_text keys).
    memory, memory_sets: optional (M, D) embeddings of earlier batches, fixed, with their (M, L) label sets
    (`LabelMemory`): more positives and negatives per image than one batch holds (Wang et al., 2020, XBM).
    Images with no positive in the batch or the memory add nothing.
    """
    b = embeddings.shape[0]
    sets = label_sets.to(embeddings.device).float()
    keys, key_sets = embeddings, sets
    if memory is not None and memory.shape[0]:
        keys = torch.cat([embeddings, memory.to(embeddings.device, embeddings.dtype)])
        key_sets = torch.cat([sets, memory_sets.to(embeddings.device).float()])
    logits = embeddings @ keys.T / temperature  # (B, B + M)
    self_mask = torch.zeros_like(logits, dtype=torch.bool)
    self_mask[:, :b] = torch.eye(b, dtype=torch.bool, device=embeddings.device)
    logits = logits.masked_fill(self_mask, -1e9)
    positive = ((sets @ key_sets.T) > 0) & ~self_mask
    rows = positive.any(dim=1)
    if not bool(rows.any()):
        return embeddings.sum() * 0.0
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    per_image = (log_prob * positive).sum(dim=1)[rows] / positive.sum(dim=1)[rows]
    return -per_image.mean()


class LabelMemory:
    """The last `size` image embeddings the labels objective saw, detached, with their label sets: the
    cross-batch memory of `label_contrastive_loss` (first in, first out)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.vectors: torch.Tensor | None = None
        self.sets: torch.Tensor | None = None

    def add(self, vectors: torch.Tensor, sets: torch.Tensor) -> None:
        vectors, sets = vectors.detach().float(), sets.float().to(vectors.device)
        if self.vectors is not None:
            vectors, sets = torch.cat([self.vectors, vectors]), torch.cat([self.sets, sets])
        self.vectors, self.sets = vectors[-self.size:], sets[-self.size:]

    def state_dict(self) -> dict:
        return {"vectors": self.vectors, "sets": self.sets}

    def load_state_dict(self, state: dict) -> None:
        self.vectors, self.sets = state["vectors"], state["sets"]
