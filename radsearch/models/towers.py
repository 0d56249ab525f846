"""Image and text towers for the dual encoder: built from a preset, or loaded from a local Hugging Face
directory (ViT, DINOv2 with or without registers, ConvNeXt, Swin, BEiT, or the image side of a CLIP or
SigLIP model; BERT-family text), never downloaded."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    BertConfig,
    BertModel,
    CLIPVisionModel,
    ConvNextConfig,
    Dinov2Config,
    PretrainedConfig,
    PreTrainedModel,
    SiglipVisionModel,
    VisionTextDualEncoderConfig,
    VisionTextDualEncoderModel,
    ViTConfig,
)
from transformers.utils import logging as hf_logging

from ..errors import ModelDirError
from .presets import EncoderPreset

IMAGE_TOWERS = {"convnext": ConvNextConfig, "vit": ViTConfig, "dinov2": Dinov2Config}  # built from a preset
POOL_GRID_KEY = "radsearch_pool_grid"  # in a ConvNeXt tower's config: pooled cells per side (absent = 1)
# loadable with --init-image: towers whose pooled output is one vector the new projection can read
PRETRAINED_IMAGE_TYPES = ("vit", "dinov2", "dinov2_with_registers", "convnext", "swin", "beit", "clip", "siglip")
VISION_OF_DUAL = {"clip": CLIPVisionModel, "siglip": SiglipVisionModel}  # an image-text model's image side
TEXT_TOWER_TYPES = ("bert", "roberta", "xlm-roberta")  # families with the pooler the dual encoder reads


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


def load_pretrained(loader, directory: str | Path, what: str, unused: tuple[str, ...] = ()) -> PreTrainedModel:  # noqa: ANN001
    """`loader.from_pretrained(directory)` from local files, refusing weights that do not fit: transformers
    itself would initialise missing weights at random with a warning, and embed nonsense. Keys starting
    with a prefix in `unused` (parts the readout never runs) may be missing."""
    directory = Path(directory)
    try:
        with quiet_transformers():
            model, info = loader.from_pretrained(directory, local_files_only=True, output_loading_info=True)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise ModelDirError(f"cannot load the {what} in {directory}: {e}") from e
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.endswith("position_ids")
                     and not any(k.startswith(prefix) for prefix in unused))
    if missing:
        raise ModelDirError(f"the weights in {directory} do not fit its config.json: {len(missing)} weights of the "
                            f"{what} are missing ({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}); "
                            "give the complete checkpoint")
    return model.eval()


def check_tower(directory: str | Path, kind: str) -> PretrainedConfig:
    """The config of a local pretrained tower, refused with the fix when it cannot serve as `kind`."""
    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise ModelDirError(f"{directory} has no config.json: give a local {kind} tower saved with save_pretrained "
                            f"({', '.join(PRETRAINED_IMAGE_TYPES)} for images, a BERT-family one for text)")
    config = load_tower_config(directory)
    allowed = TEXT_TOWER_TYPES if kind == "text" else PRETRAINED_IMAGE_TYPES
    if config.model_type not in allowed:
        what = "a BERT-family text tower" if kind == "text" else "an image tower"
        raise ModelDirError(f"{directory} holds a {config.model_type} model, not {what} ({', '.join(allowed)})")
    return config


def load_tower(directory: str | Path, kind: str) -> PreTrainedModel:
    """A pretrained image or text tower from a local Hugging Face directory; never downloads."""
    config = check_tower(directory, kind)
    loader = VISION_OF_DUAL.get(config.model_type, AutoModel) if kind == "image" else AutoModel
    model = load_pretrained(loader, directory, f"{kind} tower", unused=("pooler.",) if kind == "text" else ())
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
    text = _text_config(preset, vocab_size)
    config = VisionTextDualEncoderConfig.from_vision_text_configs(vision, text, projection_dim=preset.embed_dim)
    return VisionTextDualEncoderModel(config=config)


def _text_config(preset: EncoderPreset, vocab_size: int) -> BertConfig:
    return BertConfig(vocab_size=vocab_size, max_position_embeddings=max(preset.max_text_length, 64),
                      **preset.text_config)


def new_text_tower(preset: EncoderPreset, vocab_size: int) -> PreTrainedModel:
    """A randomly initialised BERT text tower of a preset's size (radsearch's small one)."""
    return BertModel(_text_config(preset, vocab_size))


def fresh_copy(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """The same architecture with untrained weights (the random-init baseline): a transformers model is
    rebuilt from its config, any other module copied and its layers reset."""
    torch.manual_seed(seed)
    if isinstance(module, PreTrainedModel):
        return type(module)(copy.deepcopy(module.config)).eval()
    fresh = copy.deepcopy(module)
    for layer in fresh.modules():
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    return fresh.eval()
