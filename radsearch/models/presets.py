"""Architecture presets, stored as JSON beside this file and loaded into a typed dataclass."""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from ..errors import RadsearchError

PRESET_DIR = Path(__file__).parent / "presets"


@dataclass(frozen=True)
class EncoderPreset:
    name: str
    image_tower: str  # "convnext" (learns fastest from scratch on CPU), "vit" or "dinov2" (patch tokens)
    image_size: int  # square input side; also the preprocessing profile's size
    image_config: dict  # keyword arguments of the transformers ConvNextConfig / ViTConfig
    text_config: dict  # keyword arguments of the transformers BertConfig
    vocab_size: int  # WordPiece vocabulary trained on the corpus' reports
    max_text_length: int  # tokens kept from a report (findings + impression fit in 96 for the demo)
    embed_dim: int  # the shared image-text space
    channels: int  # 1 = grayscale input; 3 only to reuse RGB-pretrained towers
    pool_grid: int = 1  # ConvNeXt: pool the last feature map to a grid x grid of cells (1 = global average);
    # a grid keeps where a finding lies, which a global average discards (docs/benchmarks.md, training)


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name: str) -> EncoderPreset:
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        raise RadsearchError(f"unknown preset {name!r}; choose one of {', '.join(available_presets())}")
    data = json.loads(path.read_text())
    missing = [f.name for f in fields(EncoderPreset) if f.name not in data and f.default is MISSING]
    if missing:
        raise RadsearchError(f"preset {path} lacks {', '.join(missing)}")
    return EncoderPreset(**{f.name: data[f.name] for f in fields(EncoderPreset) if f.name in data})
