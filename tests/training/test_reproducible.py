"""The same manifest, seed and preset give the same weights hash whatever else the process or machine does:
decodes that finish late and in random order, and a caller that changed torch's thread count."""

from __future__ import annotations

import random
import time

import torch

from radsearch.models import RadsearchModel
from radsearch.training import TrainSettings, train
from radsearch.training import data as data_module

SETTINGS = TrainSettings(epochs=2, batch_size=8, splits=("train", "val", "test"))


def test_weights_hash_ignores_slow_random_decodes_and_the_callers_thread_count(tiny_archive, tmp_path, monkeypatch):
    plain = RadsearchModel.from_pretrained(train(tiny_archive / "manifest.csv", tmp_path / "a", SETTINGS,
                                                 progress=False)).model_id
    real_read, jitter = data_module.read, random.Random()

    def slow_read(path, *args, **kwargs):
        time.sleep(jitter.uniform(0, 0.02))  # as if the disk or the other core were busy
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(data_module, "read", slow_read)
    before = torch.get_num_threads()
    torch.set_num_threads(1 if before > 1 else 2)  # e.g. a load test or a UI worker set it earlier
    try:
        busy = RadsearchModel.from_pretrained(train(tiny_archive / "manifest.csv", tmp_path / "b", SETTINGS,
                                                    progress=False))
        assert torch.get_num_threads() == (1 if before > 1 else 2)  # training left the caller's count alone
    finally:
        torch.set_num_threads(before)
    assert busy.model_id == plain
    assert busy.info["threads"] >= 1
