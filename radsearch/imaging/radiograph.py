"""The decoded image every reader returns: display-ready pixels plus header metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..columns import COLUMNS

# Metadata keys every reader fills (None where the source does not say): the registry's columns that a
# header can give (radsearch.columns), then the facts that group and place images.
METADATA_KEYS = tuple(c.name for c in COLUMNS if c.dicom is not None) + (
    "study_uid", "series_uid", "accession", "series_number",
    "pixel_spacing", "image_orientation", "patient_orientation",
    "frame", "frames",  # index of this frame in a multi-frame file, and how many it has
    "header",  # DICOM header as JSON without pixels or identities (imaging.header)
)


@dataclass
class Radiograph:
    """Grayscale pixels as float32 in [0, 1], shown as a viewer would (bright = dense)."""

    pixels: np.ndarray  # (H, W) float32 in [0, 1]
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.pixels = np.asarray(self.pixels, dtype=np.float32)
        if self.pixels.ndim != 2:
            raise ValueError(f"Radiograph pixels must be 2-D, got shape {self.pixels.shape}")
        for key in METADATA_KEYS:
            self.metadata.setdefault(key, None)

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape  # type: ignore[return-value]
