"""An image given as a query, read once: its pixels, the hash of its bytes and a name to log it by.

A query can be a path, the file's bytes, a decoded Radiograph or a 2-D array in [0, 1]. The bytes are
read once and serve three purposes: decoding, finding the same file in a library (its content hash)
and the audit log's description.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import UnreadableImage
from ..files import bytes_hash
from .radiograph import Radiograph
from .reader import read

ImageInput = Union[str, Path, bytes, Radiograph, np.ndarray]


@dataclass(frozen=True)
class QueryImage:
    """A decoded query image."""

    radiograph: Radiograph
    digest: str | None  # sha256 of the file's bytes (as a library stores it); None for pixels given directly
    label: str  # how the audit log names it: "image NAME sha256:...", "image upload sha256:...", ...
    name: str = "image"  # how a person would name it: the path given, or "upload"


def load_query(image: ImageInput | QueryImage) -> QueryImage:
    """Read and decode a query image once; a QueryImage passes through unchanged."""
    if isinstance(image, QueryImage):
        return image
    if isinstance(image, Radiograph):
        return QueryImage(image, None, "image Radiograph")
    if isinstance(image, np.ndarray):
        return QueryImage(Radiograph(pixels=image), None, f"array {image.shape}")
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
        digest = bytes_hash(data)
        return QueryImage(read(data), digest, f"image upload sha256:{digest[:16]}", "upload")
    if isinstance(image, (str, Path)):
        path = Path(image)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UnreadableImage(path, e.strerror or "cannot be read") from e
        digest = bytes_hash(data)
        return QueryImage(read(data, name=str(path)), digest, f"image {path.name} sha256:{digest[:16]}", str(path))
    raise TypeError(f"an image query is a path, bytes, a Radiograph or a 2-D array, not {type(image).__name__}")
