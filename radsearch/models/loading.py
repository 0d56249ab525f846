"""Encoders by directory layout: each family says whether it reads a directory and how to load it.

A model directory is recognised by its files (radsearch's own: radsearch.json beside a dual encoder's
config.json). New families (published foundation models in their own layouts) register here with a
`recognise` test and a `load` function; an unrecognised directory is refused with the layouts known.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelDirError
from ..files import MODEL_META_FILE
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


def _is_dual(directory: Path) -> bool:
    meta = directory / MODEL_META_FILE
    if not meta.is_file():
        return False
    try:
        return json.loads(meta.read_text()).get("family", DUAL_FAMILY) == DUAL_FAMILY
    except (ValueError, OSError):
        return False


FAMILIES: list[Family] = [
    Family(DUAL_FAMILY, f"a model trained by `radsearch train` ({MODEL_META_FILE} with config.json and weights)",
           _is_dual, RadsearchModel.from_pretrained),
]


def load_encoder(directory: str | Path) -> Encoder:
    """The encoder saved in `directory`, whichever registered family it is; never downloads."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelDirError(f"model directory {directory} does not exist; give the folder a model was saved to "
                            "(`radsearch train --out DIR`)")
    for family in FAMILIES:
        if family.recognise(directory):
            return family.load(directory)
    known = "; ".join(f"{f.name}: {f.describe}" for f in FAMILIES)
    raise ModelDirError(f"{directory} is not a radsearch model directory (no {MODEL_META_FILE}); radsearch reads "
                        f"{known}. Train one with `radsearch train --manifest M --out DIR`")
