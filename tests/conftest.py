"""Shared fixtures: a tiny archive + tiny model in seconds, and the real demo pipeline once per run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests must never reach a model hub

from radsearch.datasets import generate_archive  # noqa: E402
from radsearch.training import TrainSettings, train  # noqa: E402

SHARED_DICOMS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dicom-xray"


@pytest.fixture(scope="session")
def tiny_archive(tmp_path_factory) -> Path:
    """About 16 images of every anatomy, written as DICOM and PNG, with manifest.csv."""
    root = tmp_path_factory.mktemp("tiny-archive")
    generate_archive(root, studies=12, seed=3, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_model(tiny_archive, tmp_path_factory) -> Path:
    """An encoder pair trained for one epoch: real code path, seconds of CPU, no quality."""
    out = tmp_path_factory.mktemp("tiny-model") / "model"
    train(tiny_archive / "manifest.csv", out, TrainSettings(epochs=1, batch_size=8, splits=("train", "val", "test")),
          progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_library(tiny_archive, tiny_model, tmp_path_factory) -> Path:
    from radsearch.indexer import index
    library = tmp_path_factory.mktemp("tiny-lib") / "library"
    index(tiny_archive, library, tiny_model, progress=False)
    return library


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The full demo (800 studies, trained encoders, library): about three minutes, built once."""
    from radsearch.demo import prepare_demo
    workdir = tmp_path_factory.mktemp("demo")
    prepare_demo(workdir, echo=lambda _: None)
    return workdir


@pytest.fixture(scope="session")
def shared_dicoms() -> Path:
    if not SHARED_DICOMS.is_dir():
        pytest.skip(f"real X-ray DICOMs not found at {SHARED_DICOMS} (they come with ../shared beside the checkout)")
    return SHARED_DICOMS
