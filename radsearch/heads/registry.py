"""The heads of one library: trained, listed, loaded, removed, and their predictions stored in the catalog.

Heads live in the library's `heads/` folder as NAME.json + NAME.npz. Each records the model id
whose embeddings it reads; a head of another model is refused with the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import RadsearchError
from ..storage import LibraryStore
from .calibration import Rule
from .head import Head, HeadMismatch, HeadNotFound, check_name
from .probe import finish_calibration, fit_probe
from .truth import Truth, column_truth, label_truth, manifest_truth
from .zeroshot import default_prompts, zero_shot_head

log = logging.getLogger(__name__)
PREDICT_BATCH = 50_000  # stored embeddings scored per step when predictions are stored


class HeadRegistry:
    """Train, list, load and remove a library's heads. `encode_text` and `logit_scale` come from its model
    and are needed only to make zero-shot heads (the indexer applies stored heads without them)."""

    def __init__(self, store: LibraryStore, encode_text: Callable[[Sequence[str]], np.ndarray] | None = None,
                 logit_scale: Callable[[], float] | None = None) -> None:
        self.store = store
        self.encode_text = encode_text
        self.logit_scale = logit_scale
        self.directory = store.root / "heads"

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.json")) if self.directory.is_dir() else []

    def list(self) -> list[Head]:
        return [self.get(name, check_model=False) for name in self.names()]

    def get(self, name: str, check_model: bool = True) -> Head:
        path = self.directory / f"{name}.json"
        if not path.is_file():
            raise HeadNotFound(f"no head {name!r} in {self.store.root}; its heads: {', '.join(self.names()) or 'none'} "
                               f"(train one with `radsearch heads train --library {self.store.root} ...`)")
        head = Head.load(path)
        if check_model and head.model_id and head.model_id != self.store.config.model_id:
            raise HeadMismatch(f"head {name!r} was trained on embeddings of model {head.model_id}; this library "
                               f"uses {self.store.config.model_id}. Train it again: `radsearch heads train ...`")
        return head

    def remove(self, name: str) -> None:
        self.get(name, check_model=False)
        self.store.catalog.store_predictions(name, [], replace_all=True)
        for suffix in (".json", ".npz"):
            (self.directory / f"{name}{suffix}").unlink(missing_ok=True)

    # -- making heads ------------------------------------------------------------------------------
    def train(self, name: str, labels: Sequence[str] | None = None, column: str | None = None,
              manifest: str | Path | None = None, kind: str = "linear", operating_point: str = "youden",
              where: dict | None = None, seed: int = 0) -> Head:
        """Fit a probe head on stored embeddings (see heads.truth for where its truth comes from)."""
        check_name(name)
        rule = Rule.parse(operating_point)
        truth = self._truth(labels, column, manifest, where)
        head = fit_probe(name, truth.embeddings, truth.truth, truth.targets, truth.task, truth.train, truth.heldout,
                         kind=kind, rule=rule, model_id=self.store.config.model_id, seed=seed)
        head.source, head.population = truth.source, truth.population
        return self._save(head)

    def zero_shot(self, name: str, prompts: dict[str, dict[str, list[str]]] | None = None,
                  labels: Sequence[str] | None = None, task: str = "binary", operating_point: str = "youden",
                  calibrate: bool = True, where: dict | None = None) -> Head:
        """A head from text prompts (or default prompts for `labels`); calibrated on the library's labels
        for those targets where it has them, left uncalibrated (threshold 0.5) where it does not."""
        check_name(name)
        if self.encode_text is None or self.logit_scale is None:
            raise RadsearchError("zero-shot heads need the library's text tower: make them through Library.heads")
        prompts = dict(prompts or {}) | {label: default_prompts(label) for label in labels or () if label not in
                                         (prompts or {})}
        head = zero_shot_head(name, prompts, self.encode_text, self.logit_scale(), task,
                              model_id=self.store.config.model_id)
        if calibrate and task == "binary":
            self._calibrate_from_labels(head, Rule.parse(operating_point), where)
        return self._save(head)

    def _calibrate_from_labels(self, head: Head, rule: Rule, where: dict | None) -> None:
        known = []
        for target in head.targets:
            try:
                truth = label_truth(self.store, [target], where)
            except (RadsearchError, ValueError) as e:  # no labels for this target: usable, uncalibrated
                log.info("zero-shot %s/%s stays uncalibrated: %s", head.name, target, e)
                continue
            column = head.targets.index(target)
            single = Head(head.name, head.kind, head.task, [target], head.model_id,
                          [(w[:, [column]], b[[column]]) for w, b in head.layers])
            finish_calibration(single, truth.embeddings[truth.heldout], truth.truth[truth.heldout], rule)
            head.calibrations[target] = single.calibrations[target]
            head.population = truth.population
            known.append(target)
        head.metrics.update(auroc={t: c.auroc for t, c in head.calibrations.items()}, rule=str(rule),
                            calibrated_targets=known)

    def _truth(self, labels: Sequence[str] | None, column: str | None, manifest: str | Path | None,
               where: dict | None) -> Truth:
        if manifest is not None:
            if not column:
                raise ValueError("with a manifest, name the column the head learns (--column)")
            return manifest_truth(self.store, manifest, column, where)
        if column:
            return column_truth(self.store, column, where)
        return label_truth(self.store, list(labels) if labels else None, where)

    def _save(self, head: Head) -> Head:
        head.save(self.directory)
        if self.store.catalog.has_predictions(head.name):
            self.store_predictions(head.name)  # stored predictions follow the head they came from
        log.info("head %s saved (%s, %s)", head.name, head.kind, ", ".join(head.targets))
        return head

    # -- using heads -------------------------------------------------------------------------------
    def store_predictions(self, name: str, only_new: bool = False) -> int:
        """Score indexed images with the head and keep the answers in the catalog (filters `head:NAME`).
        only_new scores just the images without a stored answer (what an indexing run added)."""
        head = self.get(name)
        ids = self.store.catalog.unpredicted_images(name) if only_new else self.store.catalog.ids("images").tolist()
        if not ids:
            return 0
        done = 0
        steps = range(0, len(ids), PREDICT_BATCH)
        for start in tqdm(steps, desc=f"store {name}", unit="batch", disable=len(steps) < 2):
            chunk, vectors = self.store.catalog.embeddings("images", ids[start:start + PREDICT_BATCH],
                                                           self.store.config.embed_dim)
            rows = [(int(i), target, p.probability, positive)
                    for i, prediction in zip(chunk, head.predict(vectors))
                    for target, p in prediction.targets.items()
                    for positive in [target in prediction.positive]]
            done += self.store.catalog.store_predictions(name, rows, replace_all=not only_new and start == 0)
        return done

    def update_stored(self) -> dict[str, int]:
        """Score images added since each stored head last ran; called at the end of an indexing run."""
        return {name: self.store_predictions(name, only_new=True) for name in self.names()
                if self.store.catalog.has_predictions(name)}
