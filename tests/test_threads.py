"""Thread sizing: each kind of radsearch process takes its share of the cores, so two of them on one machine do
not wait on each other (benchmarks/threads.py measures the throughput; these tests check the rules)."""

from __future__ import annotations

import faiss
import pytest
import torch

import radsearch
from radsearch import threads
from radsearch.models import RadsearchModel


@pytest.fixture()
def eight_cores(monkeypatch):
    monkeypatch.delenv(threads.THREADS_ENV, raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)


@pytest.fixture()
def restore_threads():
    before = torch.get_num_threads(), faiss.omp_get_max_threads()
    yield
    torch.set_num_threads(before[0])
    faiss.omp_set_num_threads(before[1])


def test_a_server_takes_half_the_cores_and_the_indexer_what_its_decode_workers_leave(eight_cores):
    assert threads.threads_for("serve") == 4
    assert threads.threads_for("index", decode_workers=8) == 1
    assert threads.threads_for("index", decode_workers=2) == 6
    assert threads.threads_for("train") == 8


def test_an_indexer_whose_encoder_is_the_slower_stage_gives_it_every_core(eight_cores):
    assert threads.indexer_threads(8, decode_seconds=0.025, embed_seconds=0.070) == 8  # ViT-S: workers mostly wait
    assert threads.indexer_threads(8, decode_seconds=0.025, embed_seconds=0.003) == 1  # tiny CNN: decoding dominates


def test_the_environment_overrides_every_rule_and_a_wrong_value_names_the_variable(eight_cores, monkeypatch):
    monkeypatch.setenv(threads.THREADS_ENV, "3")
    assert {threads.threads_for(role) for role in threads.ROLES} == {3}
    monkeypatch.setenv(threads.THREADS_ENV, "many")
    with pytest.raises(ValueError, match="RADSEARCH_THREADS"):
        threads.threads_for("serve")
    with pytest.raises(ValueError, match="serve, index, train"):
        threads.threads_for("gpu")


def test_set_threads_sizes_both_torch_and_faiss(restore_threads):
    assert radsearch.set_threads(1) == 1
    assert torch.get_num_threads() == 1 and faiss.omp_get_max_threads() == 1
    count = radsearch.set_threads("serve")
    assert count == threads.threads_for("serve") == torch.get_num_threads() == faiss.omp_get_max_threads()


def test_the_indexer_embeds_on_the_cores_its_decode_workers_leave_and_gives_the_count_back(
        tiny_archive, tiny_model, tmp_path, monkeypatch, eight_cores, restore_threads):
    seen = []
    encode = RadsearchModel.encode_image

    def spy(self, batch):
        seen.append(torch.get_num_threads())
        return encode(self, batch)

    monkeypatch.setattr(RadsearchModel, "encode_image", spy)
    torch.set_num_threads(8)
    radsearch.index(tiny_archive, tmp_path / "lib", tiny_model, progress=False, workers=2)
    assert seen and set(seen) == {6}  # 8 cores, 2 decode workers
    assert torch.get_num_threads() == 8  # the caller's count, after the run
