"""Task heads on the demo library: probes, zero-shot prompts, stored predictions and their checks."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from radsearch import open_library
from radsearch.datasets import read_manifest
from radsearch.errors import InvalidFilter
from radsearch.heads import HeadMismatch, HeadNotFound, NotEnoughExamples


@pytest.fixture(scope="module")
def demo(demo_dir, tmp_path_factory):
    """A copy of the demo library (heads and stored predictions change it), and its manifest."""
    library = tmp_path_factory.mktemp("heads") / "library"
    shutil.copytree(demo_dir / "library", library)
    return open_library(library), read_manifest(demo_dir / "archive" / "manifest.csv")


def _test_split(lib, records, body_part="CHEST"):
    """Test-split images of the library (never seen by a head trained with split train/val) and their ids."""
    chosen = [r for r in records if r.split == "test" and r.body_part == body_part]
    return chosen, [lib.find_file(r.path) for r in chosen]


def test_probe_head_flags_unseen_effusions_at_its_stated_sensitivity(demo):
    lib, records = demo
    head = lib.heads.train("effusion", labels=["pleural_effusion"], operating_point="sensitivity=0.9",
                           where={"split": ["train", "val"], "body_part": "CHEST"})
    point = head.calibrations["pleural_effusion"].point
    assert point.rule == "sensitivity=0.9" and "other than those that chose" in point.checked
    assert point.sensitivity >= 0.75  # measured on patients that did not choose the threshold: no longer >= 0.9
    # by construction (0.8 with the demo model)
    chosen, ids = _test_split(lib, records)
    answers = [lib.heads.predict(i, "effusion").targets["pleural_effusion"] for i in ids]
    truth = np.array(["pleural_effusion" in r.labels for r in chosen])
    said = np.array([a.positive for a in answers])
    assert roc_auc_score(truth, [a.probability for a in answers]) > 0.9
    assert said[truth].mean() >= 0.8, "on new patients the head keeps close to the sensitivity it states"
    assert (~said[~truth]).mean() >= 0.7
    assert all(a.threshold == pytest.approx(point.threshold) and a.sensitivity == point.sensitivity for a in answers)


def test_every_label_at_once_and_an_mlp_head_beat_chance_on_each_target(demo):
    lib, _ = demo
    linear = lib.heads.train("findings")
    mlp = lib.heads.train("findings-mlp", kind="mlp")
    assert set(linear.targets) == {"cardiomegaly", "consolidation", "nodule", "pleural_effusion", "pneumothorax"}
    assert linear.population == {"body_part": ["CHEST"]}, "a chest finding is learned from chest films only"
    # demo seeds 0, 1, 2: linear min AUROC 0.690, 0.643, 0.626 (nodule or pneumothorax), effusion >= 0.988;
    # the MLP is weaker on rare pneumothorax (0.647, 0.523, 0.538) but above chance on every target
    aurocs = linear.metrics["auroc"]
    assert min(aurocs.values()) > 0.6 and aurocs["pleural_effusion"] > 0.9, aurocs
    aurocs = mlp.metrics["auroc"]
    assert min(aurocs.values()) > 0.5 and aurocs["pleural_effusion"] > 0.9 and aurocs["cardiomegaly"] > 0.9, aurocs
    assert len(mlp.layers) == 2


def test_view_head_names_the_view_of_new_images(demo):
    lib, records = demo
    head = lib.heads.train("view", column="view", where={"split": ["train", "val"]})
    assert head.task == "categorical" and set(head.targets) == {"AP", "LAT", "PA"}
    chosen = [r for r in records if r.split == "test"]
    answers = [lib.heads.predict(r.path, "view") for r in chosen[:60]]
    correct = [a.positive == [r.view] for a, r in zip(answers, chosen)]
    assert np.mean(correct) > 0.9
    assert all(abs(sum(t.probability for t in a.targets.values()) - 1) < 1e-6 for a in answers)


def test_any_manifest_column_can_be_a_head(demo, tmp_path):
    lib, records = demo
    manifest = tmp_path / "extra.csv"
    rows = ["path,region"] + [f"{r.path},{'upper' if r.body_part in ('CHEST', 'HAND') else 'lower'}" for r in records]
    manifest.write_text("\n".join(rows))
    head = lib.heads.train("region", column="region", manifest=manifest)
    assert head.targets == ["lower", "upper"] and head.metrics["accuracy"] > 0.9
    assert head.source == "manifest:extra.csv#region"


def test_zero_shot_head_needs_no_labels_and_is_checked_where_labels_exist(demo):
    lib, records = demo
    head = lib.heads.zero_shot("zs", labels=["cardiomegaly", "fracture"])
    assert head.kind == "zero-shot" and head.prompts["cardiomegaly"] == {"positive": ["cardiomegaly"],
                                                                          "negative": ["no cardiomegaly"]}
    # the library's labels check it (AUROC 0.912, 0.724, 0.629 for demo seeds 0, 1, 2: zero-shot depends on how
    # well that run's text tower aligned) ...
    assert head.calibrations["cardiomegaly"].auroc > 0.6
    assert "fracture" not in head.calibrations  # ... and where none exist it still answers, uncalibrated
    chosen, ids = _test_split(lib, records)
    answer = lib.heads.predict(ids[0], "zs")
    assert answer.targets["fracture"].rule == "uncalibrated" and answer.targets["fracture"].threshold == 0.5
    assert answer.targets["cardiomegaly"].sensitivity is not None


def test_heads_answer_uploads_as_they_answer_indexed_images(demo):
    lib, records = demo
    lib.heads.train("effusion-upload", labels=["pleural_effusion"])
    chosen, ids = _test_split(lib, records)
    with open(chosen[0].path, "rb") as fh:
        upload = lib.heads.predict(fh.read(), "effusion-upload")
    indexed = lib.heads.predict(ids[0], "effusion-upload")
    assert upload.targets["pleural_effusion"].probability == pytest.approx(
        indexed.targets["pleural_effusion"].probability, abs=1e-4)


def test_stored_predictions_become_search_filters(demo):
    lib, _ = demo
    lib.heads.train("effusion-filter", labels=["pleural_effusion"])
    with pytest.raises(InvalidFilter, match="heads predict .* --store"):
        lib.search.text("chest", 5, where={"head:effusion-filter": "yes"})
    assert lib.heads.store_predictions("effusion-filter") == lib.stats()["images"]
    yes = lib.search.text("chest radiograph", 20, where={"head:effusion-filter": "yes"})
    no = lib.search.text("chest radiograph", 20, where={"head:effusion-filter": "no", "body_part": "CHEST"})
    sure = lib.search.text("chest radiograph", 20, where={"head:effusion-filter": {"min": 0.9}})
    assert len(yes) == len(no) == 20 and sure
    assert np.mean(["pleural_effusion" in h.labels for h in yes]) > 0.8
    assert np.mean(["pleural_effusion" in h.labels for h in no]) < 0.2
    for hit in sure:
        assert lib.heads.predict(hit.id, "effusion-filter").targets["pleural_effusion"].probability >= 0.9 - 1e-6
    lib.heads.remove("effusion-filter")
    assert "effusion-filter" not in lib.store.catalog.predicted_heads()
    with pytest.raises(HeadNotFound, match="radsearch heads train"):
        lib.heads.predict(1, "effusion-filter")


def test_a_head_of_another_model_is_refused_with_the_fix(demo):
    lib, _ = demo
    head = lib.heads.train("foreign", column="body_part")
    path = lib.heads.directory / "foreign.json"
    meta = json.loads(path.read_text())
    path.write_text(json.dumps(meta | {"model_id": "0123456789abcdef"}))
    with pytest.raises(HeadMismatch, match="Train it again"):
        lib.heads.predict(1, head.name)


def test_a_label_nobody_carries_is_refused_naming_the_labels_there_are(demo):
    lib, _ = demo
    with pytest.raises(NotEnoughExamples, match="pleural_effusion"):
        lib.heads.train("fracture", labels=["fracture"])


def test_heads_are_listed_with_their_metrics_and_survive_reopening(demo):
    lib, _ = demo
    lib.heads.train("listed", column="body_part")
    again = open_library(lib.path)
    listed = {h.name: h for h in again.heads.list()}
    assert "listed" in listed and listed["listed"].metrics["accuracy"] > 0.9
    summary = listed["listed"].summary()
    assert summary["auroc"]["CHEST"] > 0.9 and "threshold" in summary["operating_point"]["CHEST"]
