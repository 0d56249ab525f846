"""Training: the contrastive objective, and a loop that can be interrupted and resumed."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from radsearch.models import RadsearchModel
from radsearch.training import TrainSettings, contrastive_loss, train
from radsearch.training import loop as loop_module


def test_matching_pairs_score_a_lower_loss_than_shuffled_ones():
    torch.manual_seed(0)
    images = F.normalize(torch.randn(16, 32), dim=-1)
    texts = F.normalize(images + 0.1 * torch.randn(16, 32), dim=-1)
    scale = torch.tensor(2.6592)
    assert contrastive_loss(images, texts, scale) < contrastive_loss(images, texts.roll(1, 0), scale)


def test_loss_is_symmetric_in_images_and_texts():
    torch.manual_seed(1)
    a, b = F.normalize(torch.randn(8, 16), dim=-1), F.normalize(torch.randn(8, 16), dim=-1)
    scale = torch.tensor(2.0)
    assert torch.isclose(contrastive_loss(a, b, scale), contrastive_loss(b, a, scale))


def test_training_writes_a_loadable_model_and_a_log(tiny_model):
    log = [json.loads(line) for line in (tiny_model / "train_log.jsonl").read_text().splitlines()]
    assert log and {"epoch", "loss", "temperature"} <= set(log[0])
    assert RadsearchModel.from_pretrained(tiny_model).embed_dim > 0


def test_interrupted_training_resumes_where_it_stopped(tiny_archive, tmp_path, monkeypatch):
    settings = TrainSettings(epochs=3, batch_size=8, splits=("train", "val", "test"))
    out = tmp_path / "model"
    calls = {"n": 0}
    real_loss = loop_module.contrastive_loss

    def crash_in_epoch_two(*args):
        calls["n"] += 1
        if calls["n"] == 3:  # tiny archive: 2 steps per epoch, so this is epoch 2
            raise KeyboardInterrupt
        return real_loss(*args)

    monkeypatch.setattr(loop_module, "contrastive_loss", crash_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_archive / "manifest.csv", out, settings, progress=False)
    assert not out.exists()  # no half-written model directory
    partial_log = (tmp_path / "model.partial" / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in partial_log] == [1]

    monkeypatch.setattr(loop_module, "contrastive_loss", real_loss)
    train(tiny_archive / "manifest.csv", out, settings, progress=False)
    epochs = [json.loads(line)["epoch"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]  # epoch 1 was not trained twice
    assert not (tmp_path / "model.partial").exists()
