"""Image and text towers for the dual encoder: built from a preset, or loaded from a local Hugging Face
directory (ViT, DINOv2, ConvNeXt images; BERT-family text), never downloaded."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import (
    AutoConfig,
    AutoModel,
    BertConfig,
    ConvNextConfig,
    Dinov2Config,
    PretrainedConfig,
    PreTrainedModel,
    VisionTextDualEncoderConfig,
    VisionTextDualEncoderModel,
    ViTConfig,
)
from transformers.utils import logging as hf_logging

from ..errors import ModelDirError
from ..imaging import PreprocessProfile
from .presets import EncoderPreset

IMAGE_TOWERS = {"convnext": ConvNextConfig, "vit": ViTConfig, "dinov2": Dinov2Config}  # built from a preset
POOL_GRID_KEY = "radsearch_pool_grid"  # in a ConvNeXt tower's config: pooled cells per side (absent = 1)
PRETRAINED_IMAGE_TYPES = ("vit", "dinov2", "convnext")  # loadable with --init-image
TEXT_TOWER_TYPES = ("bert", "roberta", "xlm-roberta")  # families with the pooler the dual encoder reads
DEFAULT_MEAN, DEFAULT_STD = 0.5, 0.25  # normalisation of a pretrained tower without preprocessor_config.json


class quiet_transformers:  # noqa: N801 - used as a context manager, named like one
    """Silence transformers' per-tensor load chatter and progress bars inside; real errors still raise."""

    def __enter__(self) -> None:
        self.verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

    def __exit__(self, *exc: object) -> None:
        hf_logging.set_verbosity(self.verbosity)
        hf_logging.enable_progress_bar()


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
    try:
        with quiet_transformers():
            model = AutoModel.from_pretrained(Path(directory), local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise ModelDirError(f"cannot load the {kind} tower in {directory}: {e}") from e
    if kind == "image" and model.config.model_type == "convnext":
        model.config.hidden_size = model.config.hidden_sizes[-1]  # what the dual encoder's projection reads
    return model


def pretrained_profile(directory: str | Path, preset: EncoderPreset) -> PreprocessProfile:
    """The preprocessing a pretrained image tower expects: its channels, its input size (a ViT's positions
    are fixed; other towers take the preset's size) and the normalisation its preprocessor_config.json gives."""
    config = check_tower(directory, "image")
    size = int(config.image_size) if config.model_type == "vit" else preset.image_size
    mean, std = DEFAULT_MEAN, DEFAULT_STD
    processor = Path(directory) / "preprocessor_config.json"
    if processor.is_file():
        spec = json.loads(processor.read_text())
        if spec.get("image_mean") and spec.get("image_std"):  # gray replicated to RGB: one mean and std
            mean = float(sum(spec["image_mean"]) / len(spec["image_mean"]))
            std = float(sum(spec["image_std"]) / len(spec["image_std"]))
    return PreprocessProfile(size=size, channels=int(getattr(config, "num_channels", 3)), mean=mean, std=std)


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
