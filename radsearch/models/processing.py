"""A model directory's published preprocessing as radsearch's PreprocessProfile, and back.

Foundation models ship the preprocessing their authors trained with (preprocessor_config.json, read by
transformers' image processors). radsearch reproduces it in imaging.preprocess instead of calling the
processor at run time, so decode workers stay free of transformers; tests check the two give the
same pixels. Only processors whose every step radsearch reproduces are accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoImageProcessor

from ..errors import ModelDirError
from ..imaging import PreprocessProfile
from ..imaging.preprocess import RESAMPLE
from .presets import EncoderPreset
from .towers import check_tower, quiet_transformers

PROCESSOR_FILE = "preprocessor_config.json"
# processors made of resize, centre crop, rescale and normalise only (what PreprocessProfile can say)
SUPPORTED = ("BitImageProcessor", "ViTImageProcessor", "CLIPImageProcessor", "SiglipImageProcessor",
             "ConvNextImageProcessor", "BeitImageProcessor", "DeiTImageProcessor")
DEFAULT_MEAN, DEFAULT_STD = 0.5, 0.25  # normalisation of a pretrained tower without preprocessor_config.json
CONVNEXT_WARP_FROM = 384  # ConvNeXt's processor resizes straight to the size from this size on, else crops
_RESAMPLE_NAMES = {int(mode): name for name, mode in RESAMPLE.items()}


def _size(spec, what: str, where: Path) -> tuple[str, int]:  # noqa: ANN001 - transformers SizeDict or dict
    """("shortest_edge" | "square", side) of a processor's size dictionary."""
    spec = dict(spec) if not isinstance(spec, dict) else spec
    spec = {k: v for k, v in spec.items() if v is not None}
    if spec.get("shortest_edge") and not spec.get("longest_edge"):
        return "shortest_edge", int(spec["shortest_edge"])
    if spec.get("height") and spec.get("width"):
        if spec["height"] != spec["width"]:
            raise ModelDirError(f"{where}: {what} {spec['height']}x{spec['width']} is not square; radsearch feeds "
                                "encoders square images")
        return "square", int(spec["height"])
    raise ModelDirError(f"{where}: cannot read the processor's {what} {spec}")


def profile_from_processor(directory: str | Path, channels: int = 3) -> PreprocessProfile:
    """The preprocessing of a model directory's preprocessor_config.json, as a PreprocessProfile."""
    directory = Path(directory)
    path = directory / PROCESSOR_FILE
    if not path.is_file():
        raise ModelDirError(f"{directory} has no {PROCESSOR_FILE}: radsearch needs the preprocessing the model was "
                            "published with (save the model's image processor beside its weights)")
    kind = str(json.loads(path.read_text()).get("image_processor_type", "")).removesuffix("Fast").removesuffix("Pil")
    if kind not in SUPPORTED:
        raise ModelDirError(f"{path}: image processor {kind or '(none named)'} is not one radsearch reproduces "
                            f"({', '.join(SUPPORTED)})")
    try:
        with quiet_transformers():
            processor = AutoImageProcessor.from_pretrained(directory, local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise ModelDirError(f"cannot read {path}: {e}") from e
    resample = _RESAMPLE_NAMES.get(int(getattr(processor, "resample", 2) or 2), "bilinear")
    if getattr(processor, "do_rescale", True) and abs(float(getattr(processor, "rescale_factor", 1 / 255))
                                                      - 1 / 255) > 1e-9:
        raise ModelDirError(f"{path}: rescale_factor {processor.rescale_factor} is not 1/255")
    mean = tuple(processor.image_mean) if getattr(processor, "do_normalize", True) else (0.0,) * channels
    std = tuple(processor.image_std) if getattr(processor, "do_normalize", True) else (1.0,) * channels
    if not getattr(processor, "do_resize", True):
        raise ModelDirError(f"{path}: a processor that does not resize gives images of any size; radsearch "
                            "needs one input size")
    mode, side = _size(processor.size, "size", path)
    crop = bool(getattr(processor, "do_center_crop", False))
    if kind == "ConvNextImageProcessor":  # its own resize: shortest edge / crop_pct, then a crop, below 384
        if mode != "shortest_edge":
            raise ModelDirError(f"{path}: ConvNeXt's processor takes a shortest_edge size")
        if side < CONVNEXT_WARP_FROM:
            return PreprocessProfile(size=side, channels=channels, mean=mean, std=std, fit="shortest_edge",
                                     resize=int(side / float(processor.crop_pct)), crop=True, resample=resample)
        return PreprocessProfile(size=side, channels=channels, mean=mean, std=std, fit="stretch", resample=resample)
    final = side
    if crop:
        _, final = _size(processor.crop_size, "crop_size", path)
    elif mode == "shortest_edge":
        raise ModelDirError(f"{path}: resizing the shortest edge without a centre crop gives images of other "
                            "shapes; radsearch needs square inputs")
    return PreprocessProfile(size=final, channels=channels, mean=mean, std=std,
                             fit="shortest_edge" if mode == "shortest_edge" else "stretch",
                             resize=0 if side == final and not crop else side, crop=crop, resample=resample)


def processor_config(profile: PreprocessProfile) -> dict:
    """A preprocessor_config.json for a radsearch profile that transformers' ViTImageProcessor reads.

    It resizes (stretching) rather than padding, so it gives radsearch's input only for square images.
    """
    mean, std = profile.channel_stats()
    return {"image_processor_type": "ViTImageProcessor", "do_resize": True,
            "size": {"height": profile.size, "width": profile.size}, "resample": int(RESAMPLE["bilinear"]),
            "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
            "image_mean": mean.ravel().tolist(), "image_std": std.ravel().tolist(),
            "do_convert_rgb": profile.channels == 3}


def pretrained_profile(directory: str | Path, preset: EncoderPreset) -> PreprocessProfile:
    """The preprocessing for training on top of a pretrained image tower: radiographs are still padded to a
    square (nothing cropped away), at the tower's published input size with its per-channel normalisation.

    The size and statistics come from preprocessor_config.json when it names a processor radsearch reads;
    otherwise from its image_mean/image_std alone, the config's image_size, else the preset's size.
    """
    directory = Path(directory)
    config = check_tower(directory, "image")
    vision = getattr(config, "vision_config", config)  # an image-text model's image side
    channels = int(getattr(vision, "num_channels", 3))
    path = directory / PROCESSOR_FILE
    spec = json.loads(path.read_text()) if path.is_file() else {}
    if str(spec.get("image_processor_type", "")).removesuffix("Fast").removesuffix("Pil") in SUPPORTED:
        published = profile_from_processor(directory, channels)
        return PreprocessProfile(size=published.size, channels=channels, mean=published.mean, std=published.std,
                                 resample=published.resample)
    mean = tuple(spec["image_mean"]) if spec.get("image_mean") else DEFAULT_MEAN
    std = tuple(spec["image_std"]) if spec.get("image_std") else DEFAULT_STD
    size = int(getattr(vision, "image_size", 0) or preset.image_size)
    return PreprocessProfile(size=size, channels=channels, mean=mean, std=std)
