"""Published image-text models in the Hugging Face layout (CLIP, SigLIP), used as they are: both towers,
the projected embeddings their authors compare, their own tokenizer and image processor.

SigLIP's text tower was trained on texts padded to its full length, so its texts are padded that way
(the padding its processor documents); CLIP's are padded to the longest text of a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModel

from ..errors import ModelDirError
from ..files import MODEL_META_FILE, weights_hash
from ..imaging import PreprocessProfile
from .processing import profile_from_processor
from .published import PublishedEncoder
from .runtime import inference, text_inference
from .tokenizer import load_tokenizer
from .towers import fresh_copy, load_pretrained, load_tower_config

FAMILY = "hf-clip"
MODEL_TYPES = {"clip": "longest", "siglip": "max_length"}  # model_type -> how its texts are padded


def recognise(directory: Path) -> bool:
    if (directory / MODEL_META_FILE).is_file() or not (directory / "config.json").is_file():
        return False
    try:
        return load_tower_config(directory).model_type in MODEL_TYPES
    except ModelDirError:
        return False


class HFClipEncoder(PublishedEncoder):
    """An `Encoder` over a published CLIP or SigLIP model."""

    def __init__(self, model: torch.nn.Module, tokenizer, profile: PreprocessProfile, model_id: str,  # noqa: ANN001
                 directory: Path) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.profile = profile
        self.model_id = model_id
        self.directory = directory
        self.device = torch.device("cpu")
        kind = model.config.model_type
        self.padding = MODEL_TYPES[kind]
        self.max_text_length = int(model.config.text_config.max_position_embeddings)
        self.info = {"family": FAMILY, "model_type": kind}

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> HFClipEncoder:
        directory = Path(directory)
        config = load_tower_config(directory)
        if config.model_type not in MODEL_TYPES:
            raise ModelDirError(f"{directory} holds a {config.model_type} model, not {' or '.join(MODEL_TYPES)}")
        channels = int(getattr(config.vision_config, "num_channels", 3))
        profile = profile_from_processor(directory, channels=channels)
        tokenizer = load_tokenizer(directory)
        model = load_pretrained(AutoModel, directory, f"{config.model_type} model")
        return cls(model, tokenizer, profile, weights_hash(directory), directory)

    def with_fresh_weights(self, seed: int = 0) -> HFClipEncoder:
        """The same architecture, tokenizer and preprocessing with untrained weights (the random-init baseline)."""
        return HFClipEncoder(fresh_copy(self.model, seed), self.tokenizer, self.profile, self.model_id, self.directory)

    @property
    def embed_dim(self) -> int:
        config = self.model.config
        return int(getattr(config, "projection_dim", None) or config.vision_config.hidden_size)

    @property
    def towers(self) -> frozenset[str]:
        return frozenset({"image", "text"})

    @property
    def similarity_scale(self) -> float:
        return float(self.model.logit_scale.detach().exp().item())

    @property
    def report_sections(self) -> str:
        return "impression"

    @staticmethod
    def _pooled(out) -> torch.Tensor:  # noqa: ANN001 - a tensor, or transformers' output with pooler_output
        return out if isinstance(out, torch.Tensor) else out.pooler_output

    @inference
    def encode_image(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        pixels = torch.as_tensor(batch, dtype=torch.float32).to(self.device)
        vectors = F.normalize(self._pooled(self.model.get_image_features(pixel_values=pixels)).float(), dim=-1)
        return vectors.float().cpu().numpy()

    @text_inference
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        tokens = self.tokenizer(list(texts), padding=self.padding, truncation=True, max_length=self.max_text_length,
                                return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        if self.padding == "max_length":
            inputs.pop("attention_mask", None)  # SigLIP attends to its padding, as it was trained
        vectors = F.normalize(self._pooled(self.model.get_text_features(**inputs)).float(), dim=-1)
        return vectors.float().cpu().numpy()

    def modules(self) -> list[torch.nn.Module]:
        return [self.model]

    def tower_modules(self) -> dict[str, list[torch.nn.Module]]:
        return {"image": [self.model.vision_model], "text": [self.model.text_model]}
