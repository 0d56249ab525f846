"""A task head: a small function of the library's image embeddings, with its targets and held-out facts.

Every head, trained probe or zero-shot prompt, is stored the same way: layers applied to the unit
embedding (affine maps with ReLU between), then per-target calibration. A zero-shot head's single
layer is made of its prompts' text vectors, so predicting needs no text tower.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import RadsearchError
from ..files import atomic_write_bytes
from .calibration import Calibration

KINDS = ("linear", "mlp", "zero-shot")
TASKS = ("binary", "categorical")  # independent yes/no per target, or exactly one of the targets
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class HeadNotFound(RadsearchError):
    """A head name that the library does not hold."""


class HeadMismatch(RadsearchError):
    """A head trained on another model's embeddings, or a file that is not a head."""


@dataclass
class TargetPrediction:
    """One target's answer: a calibrated probability and the yes/no at the head's operating point."""

    probability: float
    positive: bool
    threshold: float
    sensitivity: float | None  # of the operating point on held-out data; None when never calibrated
    specificity: float | None
    rule: str


@dataclass
class HeadPrediction:
    """A head's answer for one image, keyed by target (torchxrayvision's `model.targets` convention)."""

    head: str
    task: str
    targets: dict[str, TargetPrediction]

    @property
    def positive(self) -> list[str]:
        """Targets judged present (binary), or the single most probable class (categorical)."""
        if self.task == "categorical":
            return [max(self.targets, key=lambda t: self.targets[t].probability)] if self.targets else []
        return [name for name, p in self.targets.items() if p.positive]

    def to_dict(self) -> dict:
        return {"head": self.head, "task": self.task, "positive": self.positive,
                "targets": {name: vars(p) for name, p in self.targets.items()}}


@dataclass
class Head:
    """Weights, targets and held-out calibration of one head; see the module docstring."""

    name: str
    kind: str  # linear, mlp or zero-shot
    task: str  # binary or categorical
    targets: list[str]
    model_id: str  # the model whose embeddings it reads
    layers: list[tuple[np.ndarray, np.ndarray]]  # (weights (in, out), bias (out,)); ReLU between layers
    calibrations: dict[str, Calibration] = field(default_factory=dict)
    source: str = ""  # where the truth came from: "labels", "column:view", "manifest:FILE#column", "prompts"
    population: dict = field(default_factory=dict)  # the filter of the images it was trained and checked on
    prompts: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # zero-shot: target -> positive/negative
    metrics: dict = field(default_factory=dict)  # held-out figures: auroc per target, accuracy, counts
    created: str = ""

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, D) unit embeddings -> (n, T) raw scores, one column per target."""
        x = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        for n, (weights, bias) in enumerate(self.layers):
            x = x @ weights + bias
            if n < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return x

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, T) calibrated probabilities: per target (binary) or a distribution over targets (categorical)."""
        logits = self.logits(embeddings)
        if self.task == "categorical":
            logits = logits / float(self.metrics.get("temperature", 1.0))
            logits = logits - logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            return exp / exp.sum(axis=1, keepdims=True)
        out = np.empty_like(logits)
        for t, target in enumerate(self.targets):
            calibration = self.calibrations.get(target)
            out[:, t] = calibration.probability(logits[:, t]) if calibration else 1 / (1 + np.exp(-logits[:, t]))
        return out

    def predict(self, embeddings: np.ndarray) -> list[HeadPrediction]:
        """One HeadPrediction per embedding row."""
        probabilities = self.probabilities(embeddings)
        out = []
        for row in probabilities:
            targets = {}
            for t, target in enumerate(self.targets):
                point = self.calibrations[target].point if target in self.calibrations else None
                threshold = point.threshold if point else (0.5 if self.task == "binary" else 1.0 / len(self.targets))
                targets[target] = TargetPrediction(
                    float(row[t]), bool(row[t] >= threshold), float(threshold),
                    point.sensitivity if point else None, point.specificity if point else None,
                    point.rule if point else "uncalibrated")
            out.append(HeadPrediction(self.name, self.task, targets))
        return out

    def direction(self, embedding: np.ndarray, target: str) -> np.ndarray:
        """(D,) gradient of the target's score at this embedding: the way in embedding space that makes
        the answer more "yes" (what localisation maps look for in each patch)."""
        if target not in self.targets:
            raise HeadNotFound(f"head {self.name!r} has no target {target!r}; "
                               f"its targets are {', '.join(self.targets)}")
        import torch
        x = torch.as_tensor(np.asarray(embedding, dtype=np.float64)).requires_grad_(True)
        h = x[None]
        for n, (weights, bias) in enumerate(self.layers):
            h = h @ torch.as_tensor(weights, dtype=torch.float64) + torch.as_tensor(bias, dtype=torch.float64)
            if n < len(self.layers) - 1:
                h = torch.relu(h)
        t = self.targets.index(target)
        score = torch.log_softmax(h, dim=1)[0, t] if self.task == "categorical" else h[0, t]
        score.backward()
        return x.grad.numpy().astype(np.float32)

    def summary(self) -> dict:
        """What `radsearch heads list` shows."""
        out = {"name": self.name, "kind": self.kind, "task": self.task, "targets": self.targets,
               "source": self.source, "population": self.population, "created": self.created}
        for target, c in self.calibrations.items():
            out.setdefault("auroc", {})[target] = c.auroc
            if c.point:
                out.setdefault("operating_point", {})[target] = vars(c.point)
        return out | {k: v for k, v in self.metrics.items() if k not in ("auroc",)}

    # -- files -------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """heads/NAME.json (everything readable) and heads/NAME.npz (the layers), each written atomically."""
        directory = Path(directory)
        buffer = io.BytesIO()
        arrays = {f"{kind}{n}": array for n, (w, b) in enumerate(self.layers) for kind, array in (("w", w), ("b", b))}
        np.savez(buffer, **arrays)
        atomic_write_bytes(directory / f"{self.name}.npz", buffer.getvalue())
        meta = {"name": self.name, "kind": self.kind, "task": self.task, "targets": self.targets,
                "model_id": self.model_id, "layers": len(self.layers), "source": self.source,
                "population": self.population, "prompts": self.prompts, "metrics": self.metrics,
                "created": self.created, "calibrations": {t: c.to_dict() for t, c in self.calibrations.items()}}
        atomic_write_bytes(directory / f"{self.name}.json", json.dumps(meta, indent=2).encode())
        return directory / f"{self.name}.json"

    @classmethod
    def load(cls, path: str | Path) -> Head:
        path = Path(path)
        try:
            meta = json.loads(path.read_text())
            with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
                layers = [(arrays[f"w{n}"], arrays[f"b{n}"]) for n in range(int(meta["layers"]))]
        except (OSError, ValueError, KeyError) as e:
            raise HeadMismatch(f"{path} is not a readable radsearch head ({e}); remove it with "
                               f"`radsearch heads remove {path.stem}` and train it again") from e
        return cls(name=meta["name"], kind=meta["kind"], task=meta["task"], targets=list(meta["targets"]),
                   model_id=meta.get("model_id", ""), layers=layers, source=meta.get("source", ""),
                   calibrations={t: Calibration.from_dict(c) for t, c in meta.get("calibrations", {}).items()},
                   population=meta.get("population", {}), prompts=meta.get("prompts", {}),
                   metrics=meta.get("metrics", {}), created=meta.get("created", ""))


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise RadsearchError(f"head name {name!r}: use letters, digits, '_', '.' or '-' (at most 64, no leading "
                             "punctuation), e.g. pleural_effusion")
    return name
