"""Training: contrastive image-report learning that produces a model directory."""

from .loop import TrainSettings, train
from .loss import contrastive_loss, matching_targets

__all__ = ["TrainSettings", "contrastive_loss", "matching_targets", "train"]
