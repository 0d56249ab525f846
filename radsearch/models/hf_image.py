"""Published image backbones in the Hugging Face layout (RAD-DINO, DINOv2 with or without registers, ViT,
ConvNeXt, Swin, BEiT), used as they are: image-only encoders whose embedding is the one their authors
retrieve with, after the preprocessing they published.

A directory holds config.json, the weights (model.safetensors or pytorch_model.bin) and
preprocessor_config.json. It is loaded with transformers' AutoModel from local files only; remote code
is never run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModel

from ..errors import ModelDirError, NoTextTower
from ..files import MODEL_META_FILE, weights_hash
from ..imaging import PreprocessProfile
from .processing import profile_from_processor
from .published import PublishedEncoder
from .runtime import inference
from .towers import fresh_copy, load_pretrained, load_tower_config

FAMILY = "hf-image"
# model_type -> how its image embedding is read: the CLS token, or the model's pooled output
READOUT = {"dinov2": "pooler", "dinov2_with_registers": "pooler", "vit": "cls", "convnext": "pooler",
           "convnextv2": "pooler", "swin": "pooler", "beit": "pooler"}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
ALIGN_FIX = "give it a text side with `radsearch align --model DIR --manifest MANIFEST --out NEW_DIR`"


def recognise(directory: Path) -> bool:
    """A Hugging Face image backbone radsearch can use as it is (and not a radsearch model directory)."""
    if (directory / MODEL_META_FILE).is_file() or not (directory / "config.json").is_file():
        return False
    try:
        return load_tower_config(directory).model_type in READOUT
    except ModelDirError:
        return False


class HFImageEncoder(PublishedEncoder):
    """An image-only `Encoder` over a published backbone; text is refused with the fix."""

    def __init__(self, model: torch.nn.Module, profile: PreprocessProfile, readout: str, model_id: str,
                 directory: Path) -> None:
        self.model = model.eval()
        self.profile = profile
        self.readout = readout
        self.model_id = model_id
        self.directory = directory
        self.device = torch.device("cpu")
        self.info = {"family": FAMILY, "model_type": model.config.model_type, "readout": readout}

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> HFImageEncoder:
        directory = Path(directory)
        config = load_tower_config(directory)
        if config.model_type not in READOUT:
            raise ModelDirError(f"{directory} holds a {config.model_type} model; image backbones radsearch uses as "
                                f"they are: {', '.join(READOUT)}")
        if not any((directory / name).is_file() for name in WEIGHT_FILES):
            raise ModelDirError(f"{directory} has no weights ({' or '.join(WEIGHT_FILES)})")
        profile = profile_from_processor(directory, channels=int(getattr(config, "num_channels", 3)))
        readout = READOUT[config.model_type]
        model = load_pretrained(AutoModel, directory, f"{config.model_type} model",
                                unused=("pooler.",) if readout == "cls" else ())  # the CLS token skips the pooler
        return cls(model, profile, readout, weights_hash(directory), directory)

    def with_fresh_weights(self, seed: int = 0) -> HFImageEncoder:
        """The same architecture, tokenizer and preprocessing with untrained weights (the random-init baseline)."""
        return HFImageEncoder(fresh_copy(self.model, seed), self.profile, self.readout, self.model_id, self.directory)

    @property
    def embed_dim(self) -> int:
        config = self.model.config
        return int(config.hidden_sizes[-1] if hasattr(config, "hidden_sizes") else config.hidden_size)

    @property
    def towers(self) -> frozenset[str]:
        return frozenset({"image"})

    @property
    def similarity_scale(self) -> float:
        return 1.0  # no text side to contrast with; zero-shot heads are refused before they need it

    @property
    def report_sections(self) -> str:
        return "impression"

    def features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, D) the embedding the family's authors use, before normalisation."""
        out = self.model(pixel_values=pixel_values.to(self.device), return_dict=True)
        if self.readout == "cls":
            return out.last_hidden_state[:, 0]
        return out.pooler_output

    @inference
    def encode_image(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        self.model.eval()
        vectors = F.normalize(self.features(torch.as_tensor(batch, dtype=torch.float32)).float(), dim=-1)
        return vectors.float().cpu().numpy()

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        raise NoTextTower(f"{self.directory.name} ({self.info['model_type']}) embeds images only; {ALIGN_FIX}")

    def modules(self) -> list[torch.nn.Module]:
        return [self.model]

    def tower_modules(self) -> dict[str, list[torch.nn.Module]]:
        return {"image": [self.model]}
