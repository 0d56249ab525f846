"""What the encoders of published checkpoints share: they are read from a folder the user keeps, so saving
copies that folder as it is, and locking or moving them is about their torch modules."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import torch

from .runtime import DEFAULT_PRECISION


class PublishedEncoder:
    """Mixin of the published families (hf_image, hf_clip, open_clip): `directory`, `device`, and the
    modules `modules()` lists (all of them) and `tower_modules()` groups by tower."""

    directory: Path
    device: torch.device
    precision = DEFAULT_PRECISION  # models.runtime.set_precision changes it

    def modules(self) -> list[torch.nn.Module]:
        raise NotImplementedError

    def tower_modules(self) -> dict[str, list[torch.nn.Module]]:
        raise NotImplementedError

    def lock(self, towers: Iterable[str]) -> list[torch.nn.Module]:
        """Freeze the named towers' weights; returns their modules."""
        locked = [module for name in towers for module in self.tower_modules().get(name, [])]
        for module in locked:
            module.requires_grad_(False)
        return locked

    def to(self, device: str | torch.device):  # noqa: ANN201 - the encoder itself
        self.device = torch.device(device)
        for module in self.modules():
            module.to(self.device)
        return self

    def save_pretrained(self, directory: str | Path) -> Path:
        """A copy of the published folder, as it was (a library keeps its own)."""
        directory = Path(directory)
        if directory.resolve() != self.directory.resolve():
            shutil.copytree(self.directory, directory, dirs_exist_ok=True)
        return directory
