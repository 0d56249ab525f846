"""Zero-shot heads: targets defined by text prompts, scored with the text tower, usable before any label.

A binary target scores scale x (cos(image, positive prompts) - cos(image, negative prompts)), where
scale is the contrastive model's learned temperature and several prompts of one side are averaged.
A categorical head has one prompt set per class and a softmax over scale x cos. Where the library
holds labels for the targets, they calibrate the head (Platt scaling, ROC, operating point) but
never change its weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np

from ..errors import RadsearchError
from .head import TASKS, Head

TextEncoder = Callable[[Sequence[str]], np.ndarray]


def default_prompts(label: str) -> dict[str, list[str]]:
    """'pleural_effusion' -> {"positive": ["pleural effusion"], "negative": ["no pleural effusion"]}."""
    phrase = label.replace("_", " ").strip()
    return {"positive": [phrase], "negative": [f"no {phrase}"]}


def prompt_vector(encode: TextEncoder, prompts: Sequence[str]) -> np.ndarray:
    """The unit mean of the prompts' text vectors (a prompt ensemble)."""
    if not prompts or not all(p and p.strip() for p in prompts):
        raise RadsearchError("a zero-shot prompt set needs at least one non-empty prompt")
    mean = np.asarray(encode(list(prompts)), dtype=np.float64).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def zero_shot_head(name: str, prompts: dict[str, dict[str, list[str]]], encode: TextEncoder, scale: float,
                   task: str = "binary", model_id: str = "") -> Head:
    """A head from prompts: binary targets map to {"positive": [...], "negative": [...]} (negative may be
    empty: then the score is scale x cos(image, positive)); categorical classes map to {"positive": [...]}."""
    if not prompts:
        raise RadsearchError(f"zero-shot head {name!r} needs prompts for at least one target")
    if task not in TASKS:
        raise RadsearchError(f"zero-shot head {name!r}: task {task!r} is not one of {', '.join(TASKS)}")
    targets = list(prompts)
    columns = []
    for target in targets:
        vector = prompt_vector(encode, prompts[target].get("positive", []))
        if task == "binary" and prompts[target].get("negative"):
            vector = vector - prompt_vector(encode, prompts[target]["negative"])
        columns.append(scale * vector)
    if task == "categorical" and len(targets) < 2:
        raise RadsearchError(f"categorical zero-shot head {name!r} needs prompts for at least two classes")
    weights = np.stack(columns, axis=1)
    return Head(name=name, kind="zero-shot", task=task, targets=targets, model_id=model_id,
                layers=[(weights, np.zeros(len(targets)))], source="prompts", prompts=prompts,
                created=datetime.now(UTC).isoformat(timespec="seconds"))
