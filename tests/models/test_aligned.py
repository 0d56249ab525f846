"""`radsearch align`: an image-only model keeps its image vectors exactly and gains a text side trained on the
archive's reports (locked-image tuning), resumably; its directory is checked when loaded."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from radsearch.cli import main
from radsearch.datasets import read_manifest, write_manifest
from radsearch.errors import ModelDirError, RadsearchError
from radsearch.imaging import read
from radsearch.models import embed_radiographs, encode_texts, load_encoder
from radsearch.models.standins import write_standin
from radsearch.training import AlignSettings, align
from radsearch.training import alignment as align_module

EVERYTHING = ("train", "val", "test")


@pytest.fixture(scope="module")
def rad_dino(tmp_path_factory):
    return write_standin("rad-dino", tmp_path_factory.mktemp("rad-dino") / "rad-dino")


def test_the_image_side_is_the_image_models_own_and_the_text_side_learns(rad_dino, tiny_archive, tmp_path):
    out = align(rad_dino, tiny_archive / "manifest.csv", tmp_path / "aligned",
                AlignSettings(epochs=6, lr=2e-3, warmup_steps=1, splits=EVERYTHING), progress=False)
    aligned, image_only = load_encoder(out), load_encoder(rad_dino)
    records = read_manifest(tiny_archive / "manifest.csv")
    radiographs = [read(r.path) for r in records[:4]]
    np.testing.assert_array_equal(embed_radiographs(aligned, radiographs), embed_radiographs(image_only, radiographs))
    assert aligned.towers == frozenset({"image", "text"}) and aligned.info["family"] == "radsearch-aligned"
    assert aligned.model_id != image_only.model_id  # a new model: its vectors of text are new
    losses = [json.loads(line)["loss"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert len(losses) == 6 and losses[-1] < losses[0]
    texts = encode_texts(aligned, ["left pleural effusion", "normal knee"])
    assert texts.shape == (2, image_only.embed_dim) and np.allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-5)


def test_a_pretrained_text_tower_is_fine_tuned_gently(rad_dino, tiny_archive, tmp_path):
    bert = write_standin("bert", tmp_path / "bert")
    out = align(rad_dino, tiny_archive / "manifest.csv", tmp_path / "aligned",
                AlignSettings(text_tower=str(bert), epochs=2, splits=EVERYTHING), progress=False)
    aligned = load_encoder(out)
    assert aligned.text.tokenizer.get_vocab() == load_encoder(out).text.tokenizer.get_vocab()
    assert (out / "text" / "vocab.txt").is_file() or (out / "text" / "tokenizer.json").is_file()
    from transformers import BertModel
    original = BertModel.from_pretrained(bert).state_dict()
    tuned = aligned.text.tower.state_dict()
    moved = [k for k in original if not torch.equal(original[k], tuned[k])]
    assert moved  # it started from the checkpoint and learned


def test_an_interrupted_alignment_resumes_to_the_same_weights(rad_dino, tiny_archive, tmp_path, monkeypatch):
    settings = AlignSettings(epochs=3, splits=EVERYTHING, batch_size=8)
    whole = load_encoder(align(rad_dino, tiny_archive / "manifest.csv", tmp_path / "whole", settings,
                               progress=False))
    calls = {"n": 0}
    real = align_module.contrastive_loss

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 2 * max(1, calls["per_epoch"]) + 1:  # the first step of the third epoch
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    pairs = len({r.study_id for r in read_manifest(tiny_archive / "manifest.csv") if r.report})
    calls["per_epoch"] = max(1, pairs // settings.batch_size)
    monkeypatch.setattr(align_module, "contrastive_loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        align(rad_dino, tiny_archive / "manifest.csv", tmp_path / "resumed", settings, progress=False)
    assert (tmp_path / "resumed.partial" / "align.pt").is_file() and not (tmp_path / "resumed").exists()
    monkeypatch.setattr(align_module, "contrastive_loss", real)
    resumed = load_encoder(align(rad_dino, tiny_archive / "manifest.csv", tmp_path / "resumed", settings,
                                 progress=False))
    for key, value in whole.text.state_dict().items():
        assert torch.equal(value, resumed.text.state_dict()[key]), key
    assert not (tmp_path / "resumed.partial").exists()


def test_a_manifest_without_reports_is_refused_with_the_reason(rad_dino, tiny_archive, tmp_path):
    records = read_manifest(tiny_archive / "manifest.csv")
    for record in records:
        record.report = ""
    write_manifest(records, tmp_path / "no-reports.csv")
    with pytest.raises(RadsearchError, match="needs reports"):
        align(rad_dino, tmp_path / "no-reports.csv", tmp_path / "out", AlignSettings(splits=EVERYTHING),
              progress=False)


def test_a_partial_aligned_directory_is_refused_naming_what_is_missing(rad_dino, tiny_archive, tmp_path):
    out = align(rad_dino, tiny_archive / "manifest.csv", tmp_path / "aligned",
                AlignSettings(epochs=1, splits=EVERYTHING), progress=False)
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    shutil.rmtree(broken / "text")
    with pytest.raises(ModelDirError, match="without its text"):
        load_encoder(broken)


def test_cli_align_writes_a_model_that_models_inspect_says_can_search_text(rad_dino, tiny_archive, tmp_path):
    runner = CliRunner()
    before = runner.invoke(main, ["models", "inspect", str(rad_dino)])
    assert before.exit_code == 0 and "text search:    no" in before.output and "radsearch align" in before.output
    result = runner.invoke(main, ["align", "--model", str(rad_dino), "--manifest", str(tiny_archive / "manifest.csv"),
                                  "--out", str(tmp_path / "aligned"), "--epochs", "1"])
    assert result.exit_code == 0, result.output
    facts = json.loads(runner.invoke(main, ["models", "inspect", str(tmp_path / "aligned"), "--json"]).output)
    assert facts["family"] == "radsearch-aligned" and facts["text_search"] and facts["towers"] == ["image", "text"]
