"""Encoders by directory layout: each family says whether it reads a directory and how to load it.

A model directory is recognised by its files: radsearch's own (radsearch.json beside a dual encoder),
an aligned one (`radsearch align`), open_clip's layout (open_clip_config.json), or a Hugging Face
checkpoint (config.json: CLIP and SigLIP models, or image backbones). An unrecognised directory is
refused with the layouts radsearch reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelDirError
from ..files import MODEL_META_FILE
from . import hf_clip, hf_image
from .dual import FAMILY as DUAL_FAMILY
from .dual import RadsearchModel
from .protocol import Encoder


@dataclass(frozen=True)
class Family:
    """One way models are laid out on disk."""

    name: str
    describe: str  # the layout, for the error that lists what radsearch reads
    recognise: Callable[[Path], bool]
    load: Callable[[Path], Encoder]


def meta_family(directory: Path) -> str | None:
    """The family a radsearch.json names (radsearch's own models before families existed name none)."""
    meta = directory / MODEL_META_FILE
    if not meta.is_file():
        return None
    try:
        return str(json.loads(meta.read_text()).get("family", DUAL_FAMILY))
    except (ValueError, OSError):
        return None


def _family_is(name: str) -> Callable[[Path], bool]:
    return lambda directory: meta_family(directory) == name


def _aligned(directory: Path) -> Encoder:
    from .aligned import AlignedEncoder  # it loads its image side through this registry
    return AlignedEncoder.from_pretrained(directory)


def _open_clip(directory: Path) -> Encoder:
    from .open_clip import OpenClipEncoder
    return OpenClipEncoder.from_pretrained(directory)


def _is_open_clip(directory: Path) -> bool:
    from .open_clip import recognise
    return recognise(directory)


FAMILIES: list[Family] = [
    Family(DUAL_FAMILY, f"a model trained by `radsearch train` ({MODEL_META_FILE} with config.json and weights)",
           _family_is(DUAL_FAMILY), RadsearchModel.from_pretrained),
    Family("radsearch-aligned", "an image model given a text side by `radsearch align`",
           _family_is("radsearch-aligned"), _aligned),
    Family("open-clip", "an open_clip checkpoint of a ViT and a Hugging Face text tower (BiomedCLIP's layout: "
           "open_clip_config.json, open_clip_pytorch_model.bin, the text tower's config and tokenizer)",
           _is_open_clip, _open_clip),
    Family(hf_clip.FAMILY, "a Hugging Face CLIP or SigLIP model (config.json, weights, tokenizer, "
           "preprocessor_config.json)", hf_clip.recognise, hf_clip.HFClipEncoder.from_pretrained),
    Family(hf_image.FAMILY, f"a Hugging Face image backbone ({', '.join(hf_image.READOUT)}: config.json, weights, "
           "preprocessor_config.json)", hf_image.recognise, hf_image.HFImageEncoder.from_pretrained),
]


def family_of(directory: str | Path) -> Family:
    """The registered family that reads `directory`; ModelDirError listing the layouts when none does."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelDirError(f"model directory {directory} does not exist; give the folder a model was saved to "
                            "(`radsearch train --out DIR`, or a published checkpoint's folder)")
    for family in FAMILIES:
        if family.recognise(directory):
            return family
    hint = ""
    if (directory / "config.json").is_file():
        try:
            kind = json.loads((directory / "config.json").read_text()).get("model_type", "?")
            hint = f" (its config.json names model_type {kind!r}, which radsearch does not read)"
        except ValueError:
            hint = " (its config.json is not valid JSON)"
    known = "; ".join(f"{f.name}: {f.describe}" for f in FAMILIES)
    raise ModelDirError(f"{directory} is not a radsearch model directory{hint}; radsearch reads {known}. "
                        "Train one with `radsearch train --manifest M --out DIR`")


def load_encoder(directory: str | Path) -> Encoder:
    """The encoder saved in `directory`, whichever registered family it is; never downloads."""
    return family_of(directory).load(Path(directory))
