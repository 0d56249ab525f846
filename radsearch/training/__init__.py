"""Training: contrastive image-report learning that produces a model directory, and locked-image alignment
that gives an image-only model a text side."""

from .alignment import AlignSettings, align
from .loop import TrainSettings, train
from .loss import contrastive_loss, matching_targets

__all__ = ["AlignSettings", "TrainSettings", "align", "contrastive_loss", "matching_targets", "train"]
