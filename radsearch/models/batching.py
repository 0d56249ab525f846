"""The one way images and texts become vectors in batches: indexing, search, evaluation and training's
caches all go through here, so batching and preprocessing are done once, the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from ..imaging import Radiograph, preprocess
from .protocol import Encoder

IMAGE_BATCH = 64  # images per encoder call: fits CPU memory for the presets, amortises the call
# at most this many input values per call (64 images of the presets' 128x128x1): a published model at
# 224x224x3 gets 6 images a call, RAD-DINO at 518x518x3 one. Large batches of large inputs were slower
# on the CPU, not faster (RAD-DINO: 0.74 images/s at 8 a call, 0.87 at 1; docs/benchmarks.md), and
# they bound the memory a call takes.
IMAGE_VALUES_PER_CALL = 64 * 128 * 128
TEXT_BATCH = 256  # texts per call (a batch of reports can hold hundreds of sentences)
T = TypeVar("T")


def in_batches(encode: Callable[[Any], T], items: Sequence[Any] | np.ndarray, size: int) -> Iterator[T]:
    """`encode` applied to consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield encode(items[start:start + size])


def image_batch(encoder: Encoder, batch_size: int = IMAGE_BATCH) -> int:
    """Images per encoder call: `batch_size`, fewer when the encoder's inputs are large."""
    profile = encoder.profile
    return max(1, min(batch_size, IMAGE_VALUES_PER_CALL // (profile.size * profile.size * profile.channels)))


def encode_images(encoder: Encoder, pixels: np.ndarray | Sequence[np.ndarray],
                  batch_size: int = IMAGE_BATCH) -> np.ndarray:
    """Preprocessed images (N, C, H, W) -> (N, D) unit vectors."""
    if not len(pixels):
        return np.zeros((0, encoder.embed_dim), np.float32)
    return np.concatenate(list(in_batches(lambda part: encoder.encode_image(np.stack(part)), pixels,
                                          image_batch(encoder, batch_size))))


def embed_radiographs(encoder: Encoder, radiographs: Sequence[Radiograph],
                      batch_size: int = IMAGE_BATCH) -> np.ndarray:
    """Decoded radiographs -> (N, D) unit vectors, preprocessed as the encoder's profile says, a batch at a time."""
    if not radiographs:
        return np.zeros((0, encoder.embed_dim), np.float32)

    def encode(part: Sequence[Radiograph]) -> np.ndarray:
        return encoder.encode_image(np.stack([preprocess(rg, encoder.profile) for rg in part]))

    return np.concatenate(list(in_batches(encode, list(radiographs), image_batch(encoder, batch_size))))


def encode_texts(encoder: Encoder, texts: Sequence[str], batch_size: int = TEXT_BATCH) -> np.ndarray:
    """Texts -> (N, D) unit vectors."""
    if not texts:
        return np.zeros((0, encoder.embed_dim), np.float32)
    return np.concatenate(list(in_batches(lambda part: encoder.encode_text(list(part)), list(texts), batch_size)))
