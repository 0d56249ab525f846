"""Recipes: contrastive, ssl and supervised alone or combined; exact resume; masked labels."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from radsearch import index, open_library
from radsearch.datasets import ManifestRecord, read_manifest, write_manifest
from radsearch.errors import ModelDirError, RadsearchError
from radsearch.imaging import PreprocessProfile
from radsearch.models import RadsearchModel
from radsearch.training import TrainSettings, train
from radsearch.training import loop as loop_module
from radsearch.training.data import load_training_set

QUICK = TrainSettings(epochs=1, batch_size=8, splits=("train", "val", "test"))


def _log(model_dir) -> list[dict]:
    return [json.loads(line) for line in (model_dir / "train_log.jsonl").read_text().splitlines()]


@pytest.fixture()
def unreported_manifest(tiny_archive, tmp_path):
    """The tiny archive as an archive without reports."""
    records = [replace(r, report="") for r in read_manifest(tiny_archive / "manifest.csv")]
    return write_manifest(records, tmp_path / "no-reports.csv")


def test_ssl_trains_the_image_tower_from_images_alone(unreported_manifest, tmp_path):
    out = train(unreported_manifest, tmp_path / "model", replace(QUICK, recipe="ssl", epochs=2), progress=False)
    log = _log(out)
    assert [entry["epoch"] for entry in log] == [1, 2] and all("ssl" in entry for entry in log)
    assert RadsearchModel.from_pretrained(out).info["trained_towers"] == ["image"]
    index(unreported_manifest, tmp_path / "lib", out, progress=False)
    lib = open_library(tmp_path / "lib")
    first = read_manifest(unreported_manifest)[0].path
    assert lib.search.image(first, k=1, include_own=True)[0].score > 0.99  # image search works
    with pytest.raises(ModelDirError, match="trained without reports"):
        lib.search.text("pleural effusion")  # text search would be noise: refused, with the reason


def test_contrastive_alone_refuses_an_archive_without_reports(unreported_manifest, tmp_path):
    with pytest.raises(ValueError, match="no readable image with a report"):
        train(unreported_manifest, tmp_path / "model", replace(QUICK, recipe="contrastive"), progress=False)


def test_combined_recipe_logs_each_objective_and_weighs_them(tiny_archive, tmp_path):
    settings = replace(QUICK, recipe="contrastive+ssl+supervised", weights={"ssl": 0.5, "supervised": 2.0})
    entry = _log(train(tiny_archive / "manifest.csv", tmp_path / "model", settings, progress=False))[0]
    expected = entry["contrastive"] + 0.5 * entry["ssl"] + 2.0 * entry["supervised"]
    assert entry["loss"] == pytest.approx(expected, rel=1e-5)


def test_unknown_recipe_or_tower_lists_the_valid_ones(tiny_archive, tmp_path):
    with pytest.raises(RadsearchError, match="combine contrastive, ssl, supervised"):
        train(tiny_archive / "manifest.csv", tmp_path / "m", replace(QUICK, recipe="contrastive+dino"))
    with pytest.raises(RadsearchError, match="towers are image, text"):
        train(tiny_archive / "manifest.csv", tmp_path / "m", replace(QUICK, freeze=("vision",)))
    with pytest.raises(RadsearchError, match="decay from 0 .off. to below 1, not 1.0"):
        train(tiny_archive / "manifest.csv", tmp_path / "m", replace(QUICK, ema=1.0))


def test_labels_a_source_never_annotates_are_masked_not_negative(tiny_archive):
    png = next(r.path for r in read_manifest(tiny_archive / "manifest.csv") if r.path.endswith(".png"))
    records = [ManifestRecord(path=png, study_id="nih:1", labels=["nodule"]),
               ManifestRecord(path=png, study_id="nih:2", labels=[]),
               ManifestRecord(path=png, study_id="mura:3", labels=["abnormal"])]
    data = load_training_set(records, PreprocessProfile(size=32), reported_only=False, progress=False)
    assert data.label_names == ["abnormal", "nodule"]
    assert data.labels.tolist() == [[0, 1], [0, 0], [1, 0]]
    assert data.known.tolist() == [[0, 1], [0, 1], [1, 0]]  # NIH never says "abnormal", MURA never "nodule"


def test_gradient_accumulation_takes_one_optimizer_step_per_group_of_batches(tiny_archive, tmp_path, monkeypatch):
    steps = []
    original_step = torch.optim.AdamW.step

    def counting_step(self, *args, **kwargs):
        steps.append(1)
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", counting_step)
    train(tiny_archive / "manifest.csv", tmp_path / "model", replace(QUICK, batch_size=4, accumulate=2),
          progress=False)
    batches = sum(1 for r in read_manifest(tiny_archive / "manifest.csv") if r.report) // 4
    assert batches >= 3 and len(steps) == -(-batches // 2)


@pytest.mark.parametrize(("crash_at", "changes"), [(2, {}), (3, {}), (2, {"ema": 0.5}),
                                                   (3, {"recipe": "contrastive+labels", "label_memory": 12})],
                         ids=["inside-epoch-1", "start-of-epoch-2", "averaging-weights", "label-memory"])
def test_resuming_ends_with_the_weights_of_an_uninterrupted_run(tiny_archive, tmp_path, monkeypatch, crash_at,
                                                                 changes):
    settings = replace(QUICK, epochs=2, checkpoint_every=1, **changes)
    whole = RadsearchModel.from_pretrained(train(tiny_archive / "manifest.csv", tmp_path / "whole", settings,
                                                 progress=False))
    calls = {"n": 0}
    real_loss = loop_module.contrastive_loss

    def crash(*args):
        calls["n"] += 1
        if calls["n"] == crash_at:  # 2 batches per epoch, a checkpoint after each optimizer step
            raise KeyboardInterrupt
        return real_loss(*args)

    monkeypatch.setattr(loop_module, "contrastive_loss", crash)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_archive / "manifest.csv", tmp_path / "cut", settings, progress=False)
    monkeypatch.setattr(loop_module, "contrastive_loss", real_loss)
    resumed = RadsearchModel.from_pretrained(train(tiny_archive / "manifest.csv", tmp_path / "cut", settings,
                                                   progress=False))
    assert resumed.model_id == whole.model_id
    assert _log(tmp_path / "cut") == [{**e, "seconds": e2["seconds"]} for e, e2 in
                                       zip(_log(tmp_path / "whole"), _log(tmp_path / "cut"))]


def test_ema_saves_the_moving_average_of_the_weights_after_each_step(tiny_archive, tmp_path, monkeypatch):
    after_each_step = []
    real_step = torch.optim.AdamW.step

    def recording_step(self, *args, **kwargs):
        result = real_step(self, *args, **kwargs)
        after_each_step.append([p.detach().clone() for group in self.param_groups for p in group["params"]])
        return result

    monkeypatch.setattr(torch.optim.AdamW, "step", recording_step)
    saved = RadsearchModel.from_pretrained(train(tiny_archive / "manifest.csv", tmp_path / "m",
                                                 replace(QUICK, epochs=2, ema=0.5), progress=False))
    weights = list(saved.parameters())  # every weight trains here, so they lead the optimizer's list in order
    average = after_each_step[0][:len(weights)]
    for step in after_each_step[1:]:
        average = [0.5 * a + 0.5 * w for a, w in zip(average, step)]
    assert len(after_each_step) >= 3 and saved.info["ema"] == 0.5
    assert all(torch.allclose(s, a, atol=1e-6) for s, a in zip(weights, average))
    assert not all(torch.equal(s, last) for s, last in zip(weights, after_each_step[-1]))  # not the last step's


def test_findings_and_impression_can_be_learned_and_the_index_embeds_the_same_text(tiny_archive, tmp_path):
    from radsearch.datasets import embedding_text
    report = "FINDINGS: Small left effusion. No pneumothorax. IMPRESSION: Left pleural effusion."
    assert embedding_text(report) == "Left pleural effusion."
    assert embedding_text(report, "findings+impression") == "Small left effusion. No pneumothorax. " \
        "Left pleural effusion."
    out = train(tiny_archive / "manifest.csv", tmp_path / "m", replace(QUICK, report_sections="findings+impression"),
                progress=False)
    model = RadsearchModel.from_pretrained(out)
    assert model.report_sections == "findings+impression"
    index(tiny_archive, tmp_path / "lib", out, progress=False)
    lib = open_library(tmp_path / "lib")
    record = next(r for r in read_manifest(tiny_archive / "manifest.csv") if r.report)
    vector = lib.search.embed_texts([embedding_text(record.report, "findings+impression")])[0]
    hit = lib.search.reports_by_vector(vector, 1)[0]
    assert hit.score > 0.999  # the stored report vector is the embedding of findings + impression


def test_study_pooling_batches_whole_studies_and_trains(tiny_archive, tmp_path):
    records = read_manifest(tiny_archive / "manifest.csv")
    data = load_training_set(records, PreprocessProfile(size=32), reported_only=True, progress=False)
    groups = loop_module._groups(data, by_study=True)
    assert sorted(i for g in groups for i in g) == list(range(len(data)))
    assert any(len(g) == 2 for g in groups)  # chest studies with a PA and a lateral view stay together
    assert all(len({data.studies[i] for i in g}) == 1 for g in groups)
    out = train(tiny_archive / "manifest.csv", tmp_path / "m", replace(QUICK, pool_study=True, batch_size=4),
                progress=False)
    assert _log(out)[0]["contrastive"] > 0


def test_bf16_mixed_precision_trains_like_fp32_and_saves_fp32_weights(tiny_archive, tmp_path):
    """The GPU path's autocast, exercised on the CPU: the losses follow the fp32 run's and the saved model is fp32."""
    settings = replace(QUICK, epochs=6, batch_size=4, warmup_steps=2)
    full = _log(train(tiny_archive / "manifest.csv", tmp_path / "fp32", replace(settings, precision="fp32"),
                      progress=False))
    mixed_dir = train(tiny_archive / "manifest.csv", tmp_path / "bf16", replace(settings, precision="bf16"),
                      progress=False)
    mixed = _log(mixed_dir)
    assert mixed[-1]["loss"] < mixed[0]["loss"] - 0.2  # it learns
    assert abs(mixed[-1]["loss"] - full[-1]["loss"]) < 0.1 * full[-1]["loss"]  # and ends where fp32 ends
    model = RadsearchModel.from_pretrained(mixed_dir)
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_asking_for_an_absent_gpu_or_an_unknown_precision_is_refused_with_the_fix(tiny_archive, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RadsearchError, match="torch sees no GPU.*--device cpu"):
        train(tiny_archive / "manifest.csv", tmp_path / "m", replace(QUICK, device="cuda"), progress=False)
    with pytest.raises(RadsearchError, match="choose one of auto, bf16, fp32"):
        train(tiny_archive / "manifest.csv", tmp_path / "m", replace(QUICK, precision="fp16"), progress=False)
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_supervised_recipe_fits_the_labels_it_is_given(tiny_archive, tmp_path):
    """The label head must move the label loss well below chance (ln 2 = 0.69) within a few epochs; an
    unscaled linear layer on unit embeddings stayed above 0.6 here and taught the encoder little."""
    settings = replace(QUICK, recipe="supervised", epochs=10, batch_size=8, warmup_steps=2)
    log = _log(train(tiny_archive / "manifest.csv", tmp_path / "model", settings, progress=False))
    assert log[0]["supervised"] > 0.6 and log[-1]["supervised"] < 0.45, [e["supervised"] for e in log]


def test_a_grid_pooled_preset_trains_indexes_and_finds_each_image_first(tiny_archive, tmp_path):
    out = train(tiny_archive / "manifest.csv", tmp_path / "model", replace(QUICK, preset="tiny-grid"), progress=False)
    assert RadsearchModel.from_pretrained(out).pool_grid == 2
    index(tiny_archive, tmp_path / "lib", out, progress=False)
    lib = open_library(tmp_path / "lib")
    first = read_manifest(tiny_archive / "manifest.csv")[0].path
    assert lib.search.image(first, k=1, include_own=True)[0].path == first
