"""The heads of one library: trained, listed, loaded, removed, run on images, and their predictions stored
in the catalog (`Library.heads`).

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
from ..imaging import ImageInput, QueryImage, Radiograph, load_query, read_frame
from ..models import Encoder, embed_radiographs
from ..storage import LibraryStore
from .calibration import Rule
from .head import Head, HeadMismatch, HeadNotFound, HeadPrediction, check_name
from .localise import OCCLUSION_GRID, Explanation, explain
from .probe import finish_calibration, fit_probe
from .truth import Truth, column_truth, label_truth, manifest_truth
from .zeroshot import default_prompts, zero_shot_head

log = logging.getLogger(__name__)
PREDICT_BATCH = 50_000  # stored embeddings scored per step when predictions are stored
HeadInput = ImageInput | QueryImage | int  # an image, or the id of an indexed one (its stored embedding is reused)


class HeadRegistry:
    """Train, list, load, run and remove a library's heads. The encoder is loaded only when a head needs it
    (zero-shot prompts, a new image, a localisation map): stored heads score stored embeddings without it."""

    def __init__(self, store: LibraryStore, encoder: Callable[[], Encoder] | None = None) -> None:
        self.store = store
        self._encoder = encoder
        self.directory = store.paths.heads

    def encoder(self) -> Encoder:
        if self._encoder is None:
            raise RadsearchError("this needs the library's model: use the heads of an opened Library "
                                 "(radsearch.open_library(path).heads)")
        return self._encoder()

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
                         kind=kind, rule=rule, model_id=self.store.config.model_id, seed=seed,
                         patients=truth.patients)
        head.source, head.population = truth.source, truth.population
        return self._save(head)

    def zero_shot(self, name: str, prompts: dict[str, dict[str, list[str]]] | None = None,
                  labels: Sequence[str] | None = None, task: str = "binary", operating_point: str = "youden",
                  calibrate: bool = True, where: dict | None = None) -> Head:
        """A head from text prompts (or default prompts for `labels`); calibrated on the library's labels
        for those targets where it has them, left uncalibrated (threshold 0.5) where it does not."""
        check_name(name)
        encoder = self.encoder()
        prompts = dict(prompts or {}) | {label: default_prompts(label) for label in labels or () if label not in
                                         (prompts or {})}
        head = zero_shot_head(name, prompts, encoder.encode_text, encoder.similarity_scale, task,
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
            finish_calibration(single, truth.embeddings[truth.heldout], truth.truth[truth.heldout], rule,
                               groups=truth.patients[truth.heldout])
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
    def predict(self, image: HeadInput, head: str) -> HeadPrediction:
        """A head's answer for an image: a new file, bytes or pixels, or the id of an indexed image
        (which reuses its stored embedding)."""
        model_head = self.get(head)
        return model_head.predict(self._vector(image)[None])[0]

    def predict_indexed(self, image_ids: Sequence[int], head: str) -> dict[int, HeadPrediction]:
        """A head's answers for many indexed images at once, from their stored embeddings (a result page)."""
        model_head = self.get(head)
        ids, vectors = self.store.catalog.embeddings("images", image_ids, self.store.config.embed_dim)
        return {int(i): answer for i, answer in zip(ids, model_head.predict(vectors))} if len(ids) else {}

    def explain(self, image: HeadInput, text: str | None = None, head: str | None = None,
                target: str | None = None, method: str = "occlusion", grid: int = OCCLUSION_GRID) -> Explanation:
        """Where in the image a text phrase, or a head's target, is matched (heads.localise). A phrase
        is contrasted with its absence ("no <phrase>"); a head without `target` explains its first
        positive target (its first target when none is positive)."""
        if (text is None) == (head is None):
            raise ValueError("explain a text or a head, one of the two")
        radiograph = self._radiograph(image)
        encoder = self.encoder()
        if text is not None:
            if not text.strip():
                raise ValueError("a text to explain needs some text")
            # against its absence, so what every film of that anatomy shares does not light up
            wanted, absent = encoder.encode_text([text, f"no {text.strip()}"])
            return explain(encoder, radiograph, wanted - absent, query=text, method=method, grid=grid)
        model_head = self.get(head)
        vector = embed_radiographs(encoder, [radiograph])[0]
        if target is None:
            answer = model_head.predict(vector[None])[0]
            target = (answer.positive or model_head.targets)[0]
        return explain(encoder, radiograph, model_head.direction(vector, target), query=f"{head}: {target}",
                       method=method, grid=grid)

    def _vector(self, image: HeadInput) -> np.ndarray:
        if isinstance(image, (int, np.integer)):
            ids, vectors = self.store.catalog.embeddings("images", [int(image)], self.store.config.embed_dim)
            if not len(ids):
                raise KeyError(f"no image with id {image} in {self.store.root}")
            return vectors[0]
        return embed_radiographs(self.encoder(), [load_query(image).radiograph])[0]

    def _radiograph(self, image: HeadInput) -> Radiograph:
        if not isinstance(image, (int, np.integer)):
            return load_query(image).radiograph
        places = self.store.catalog.locations([int(image)])
        if not places:
            raise KeyError(f"no image with id {image} in {self.store.root}")
        return read_frame(places[0].path, places[0].frame)

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

    def stored_predictions(self) -> dict[str, int]:
        """Head name -> how many images have its stored predictions."""
        return self.store.catalog.predicted_heads()

    def update_stored(self) -> dict[str, int]:
        """Score images added since each stored head last ran; called at the end of an indexing run."""
        return {name: self.store_predictions(name, only_new=True) for name in self.names()
                if self.store.catalog.has_predictions(name)}
