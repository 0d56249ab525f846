"""Image and text towers with projections into one normalised space, saved as a model directory.

The towers are any transformers models wrapped by `VisionTextDualEncoderModel` (ViT, DINOv2,
ConvNeXt image towers; BERT text towers). A model directory holds the Hugging Face files
(config.json, model.safetensors, tokenizer files) plus `radsearch.json` with the
preprocessing profile, so `RadsearchModel.from_pretrained(dir)` needs nothing else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import (
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    BertConfig,
    ConvNextConfig,
    Dinov2Config,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    VisionTextDualEncoderConfig,
    VisionTextDualEncoderModel,
    ViTConfig,
)
from transformers.utils import logging as hf_logging

from ..errors import ModelDirError
from ..imaging import PreprocessProfile
from .presets import EncoderPreset

log = logging.getLogger(__name__)
META_FILE = "radsearch.json"
FORMAT_VERSION = 1
IMAGE_TOWERS = {"convnext": ConvNextConfig, "vit": ViTConfig, "dinov2": Dinov2Config}  # built from a preset
POOL_GRID_KEY = "radsearch_pool_grid"  # in a ConvNeXt tower's config: pooled cells per side (absent = 1)
PRETRAINED_IMAGE_TYPES = ("vit", "dinov2", "convnext")  # loadable with --init-image
TEXT_TOWER_TYPES = ("bert", "roberta", "xlm-roberta")  # families with the pooler the dual encoder reads


def load_tower_config(directory: str | Path) -> PretrainedConfig:
    """A local tower's config alone (channels, image size), without loading its weights."""
    try:
        return AutoConfig.from_pretrained(Path(directory), local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise ModelDirError(f"{directory} is not a local Hugging Face model directory ({e}); give the folder "
                            "holding its config.json") from e


def check_tower(directory: str | Path, kind: str) -> PretrainedConfig:
    """The config of a local pretrained tower, refused with the fix when it cannot serve as `kind`."""
    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise ModelDirError(f"{directory} has no config.json: give a local {kind} tower saved with save_pretrained "
                            "(a ViT, DINOv2 or ConvNeXt directory for images, a BERT-family one for text)")
    config = load_tower_config(directory)
    allowed = TEXT_TOWER_TYPES if kind == "text" else PRETRAINED_IMAGE_TYPES
    if config.model_type not in allowed:
        what = "a BERT-family text tower" if kind == "text" else "an image tower"
        raise ModelDirError(f"{directory} holds a {config.model_type} model, not {what} ({', '.join(allowed)})")
    return config


def load_tower(directory: str | Path, kind: str) -> PreTrainedModel:
    """A pretrained image or text tower from a local Hugging Face directory; never downloads."""
    check_tower(directory, kind)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(Path(directory), local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise ModelDirError(f"cannot load the {kind} tower in {directory}: {e}") from e
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    if kind == "image" and model.config.model_type == "convnext":
        model.config.hidden_size = model.config.hidden_sizes[-1]  # what the dual encoder's projection reads
    return model


def build_dual_encoder(preset: EncoderPreset, vocab_size: int, init_image: str | Path | None = None,
                       init_text: str | Path | None = None) -> VisionTextDualEncoderModel:
    """A dual encoder from a preset: towers randomly initialised, or loaded from local pretrained directories.

    The projections into the shared space are always new (preset.embed_dim).
    """
    if init_image is not None or init_text is not None:
        fresh = build_dual_encoder(preset, vocab_size)
        vision = load_tower(init_image, "image") if init_image is not None else fresh.vision_model
        text = load_tower(init_text, "text") if init_text is not None else fresh.text_model
        config = VisionTextDualEncoderConfig.from_vision_text_configs(vision.config, text.config,
                                                                      projection_dim=preset.embed_dim)
        return VisionTextDualEncoderModel(config=config, vision_model=vision, text_model=text)
    if preset.image_tower not in IMAGE_TOWERS:
        raise ModelDirError(f"unknown image tower {preset.image_tower!r}; choose one of {', '.join(IMAGE_TOWERS)}")
    kwargs = dict(preset.image_config, num_channels=preset.channels, image_size=preset.image_size)
    if preset.image_tower == "convnext":
        # the dual encoder reads `hidden_size` for its projection; ConvNeXt names it hidden_sizes[-1],
        # times the cells of a pooling grid (saved in config.json, so a loaded model pools the same way)
        kwargs["hidden_size"] = kwargs["hidden_sizes"][-1] * preset.pool_grid ** 2
        if preset.pool_grid > 1:
            kwargs[POOL_GRID_KEY] = preset.pool_grid
    elif preset.pool_grid > 1:
        raise ModelDirError(f"preset {preset.name}: pool_grid needs a convnext image tower, not {preset.image_tower}")
    vision = IMAGE_TOWERS[preset.image_tower](**kwargs)
    text = BertConfig(vocab_size=vocab_size, max_position_embeddings=max(preset.max_text_length, 64),
                      **preset.text_config)
    config = VisionTextDualEncoderConfig.from_vision_text_configs(vision, text, projection_dim=preset.embed_dim)
    return VisionTextDualEncoderModel(config=config)


class RadsearchModel:
    """The encoders radsearch embeds with: `encode_image` and `encode_text` give unit vectors."""

    def __init__(self, dual: VisionTextDualEncoderModel, tokenizer: PreTrainedTokenizerBase,
                 profile: PreprocessProfile, max_text_length: int = 96, model_id: str = "") -> None:
        self.dual = dual
        self.tokenizer = tokenizer
        self.profile = profile
        self.max_text_length = max_text_length
        self.model_id = model_id  # sha256 prefix of the weights, set when saved or loaded
        self.device = torch.device("cpu")
        self.info: dict = {}  # how it was trained (recipe, towers trained, initial checkpoints); in radsearch.json

    @property
    def report_sections(self) -> str:
        """Which report sections the text tower was trained on (datasets.embedding_text)."""
        return self.info.get("report_sections", "impression")

    @property
    def embed_dim(self) -> int:
        return int(self.dual.config.projection_dim)

    def to(self, device: str | torch.device) -> RadsearchModel:
        self.device = torch.device(device)
        self.dual.to(self.device)
        return self

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_text_length,
                               return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}

    @property
    def pool_grid(self) -> int:
        """Cells per side the image tower's last feature map is pooled to before the projection (1 = global)."""
        return int(getattr(self.dual.vision_model.config, POOL_GRID_KEY, 1) or 1)

    def image_tower_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> the image tower's pooled features, what the projection into the shared space reads."""
        vision = self.dual.vision_model
        out = vision(pixel_values=pixel_values.to(self.device), return_dict=True)
        if self.pool_grid == 1:
            return out.pooler_output
        cells = F.adaptive_avg_pool2d(out.last_hidden_state, self.pool_grid)  # (B, C, g, g)
        return vision.layernorm(cells.permute(0, 2, 3, 1)).flatten(1)  # each cell normalised as the pooled mean is

    def image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, D) unit vectors, differentiable (used by training)."""
        return F.normalize(self.dual.visual_projection(self.image_tower_features(pixel_values)), dim=-1)

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        """List of texts -> (B, D) unit vectors, differentiable (used by training)."""
        out = self.dual.get_text_features(**self.tokenize(texts))
        return F.normalize(out.pooler_output, dim=-1)

    @torch.inference_mode()
    def encode_image(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        """Preprocessed images (B, C, H, W) -> float32 (B, D) unit vectors."""
        self.dual.eval()
        return self.image_features(torch.as_tensor(batch, dtype=torch.float32)).cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> float32 (B, D) unit vectors."""
        self.dual.eval()
        return self.text_features(texts).cpu().numpy().astype(np.float32)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the model directory atomically (temporary sibling, then rename)."""
        directory = Path(directory)
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        hf_logging.disable_progress_bar()
        try:
            self.dual.save_pretrained(tmp)
        finally:
            hf_logging.enable_progress_bar()
        self.tokenizer.save_pretrained(tmp)
        self.model_id = weights_hash(tmp)
        meta = {"format_version": FORMAT_VERSION, "profile": self.profile.to_dict(),
                "max_text_length": self.max_text_length, "model_id": self.model_id, "training": self.info}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
        if directory.exists():
            old = directory.with_name(directory.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, directory)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> RadsearchModel:
        """Load a model directory written by `save_pretrained`; never touches the network."""
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise ModelDirError(
                f"{directory} is not a radsearch model directory (no {META_FILE}); "
                "train one with `radsearch train --manifest M --out DIR`"
            )
        meta = json.loads(meta_path.read_text())
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # silence per-tensor load chatter; real errors still raise
        hf_logging.disable_progress_bar()
        try:
            dual = VisionTextDualEncoderModel.from_pretrained(directory, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        except (OSError, ValueError) as e:
            raise ModelDirError(f"cannot load model from {directory}: {e}") from e
        finally:
            hf_logging.set_verbosity(verbosity)
            hf_logging.enable_progress_bar()
        dual.eval()
        model = cls(dual, tokenizer, PreprocessProfile.from_dict(meta["profile"]),
                    max_text_length=int(meta.get("max_text_length", 96)), model_id=meta.get("model_id", ""))
        model.info = meta.get("training", {})
        return model


def weights_hash(directory: Path) -> str:
    """The id of a model: a sha256 prefix of its safetensors files, what a library records it was indexed with."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.safetensors")):
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]
