"""The `Encoder` contract: what indexing, search, heads, curation and evaluation need from a model.

An encoder turns preprocessed images (and, when it has a text tower, texts) into unit vectors of one
space, and says how to preprocess for it. radsearch's own dual encoder (models.dual) is one family;
families are found by their directory layout (models.loading). Open_clip's `encode_image` /
`encode_text` naming is kept: batches in, normalised vectors out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import NoTextTower
from ..imaging import PreprocessProfile

TOWERS = ("image", "text")


@runtime_checkable
class Encoder(Protocol):
    """An image encoder, optionally with a text encoder into the same space."""

    model_id: str  # a hash of the weights: the library records it, and refuses vectors of another model
    profile: PreprocessProfile  # how images are padded, sized and normalised before encode_image
    info: dict  # how it was made (recipe, initial checkpoints, towers trained); kept in its directory
    precision: str  # how its forward pass runs when it embeds: fp32, bf16 or int8 (models.runtime)

    @property
    def embed_dim(self) -> int:
        """Width of the vectors."""

    @property
    def towers(self) -> frozenset[str]:
        """What it embeds meaningfully: {"image"}, or {"image", "text"} when it reads text."""

    @property
    def similarity_scale(self) -> float:
        """The factor that turns a cosine similarity into a logit (its contrastive temperature's inverse);
        what a zero-shot head's probabilities use."""

    @property
    def report_sections(self) -> str:
        """The report text its text tower was trained on (datasets.embedding_text): how reports are embedded."""

    def encode_image(self, batch: np.ndarray) -> np.ndarray:
        """(B, C, H, W) preprocessed images -> (B, D) float32 unit vectors."""

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> (B, D) float32 unit vectors; errors.NoTextTower when "text" is not in `towers`."""

    def lock(self, towers: Iterable[str]) -> None:
        """Freeze these towers' weights (training then adapts the rest)."""

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the model as a directory that `models.load_encoder` reads back."""


class PatchEncoder(Protocol):
    """An encoder that can also embed each patch of an image in the shared space (token localisation maps)."""

    def patch_embeddings(self, batch: np.ndarray) -> np.ndarray:
        """(1, C, H, W) -> (h, w, D) unit vectors, one per patch of the tower's last layer."""


def text_refusal(encoder: Encoder) -> str | None:
    """Why `encoder` cannot embed text, in its own words (with the fix), or None when it can."""
    if "text" in encoder.towers:
        return None
    try:
        encoder.encode_text(["text"])
    except NoTextTower as e:
        return str(e)
    return "its text side was never aligned with images"
