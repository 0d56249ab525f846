"""A small archive with planted problems, indexed with the demo model (curation reads real embeddings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radsearch.datasets.planting import plant_problems
from radsearch.datasets.synthetic import generate_archive


@pytest.fixture(scope="session")
def planted(demo_dir, tmp_path_factory) -> tuple[Path, Path, dict]:
    """(archive, library, truth): 80 studies, about 5% of images carrying each planted problem."""
    from radsearch import index
    root = tmp_path_factory.mktemp("planted")
    archive, library = root / "archive", root / "library"
    generate_archive(archive, studies=80, seed=21, progress=False)
    truth = json.loads(plant_problems(archive, seed=21, share=0.05).read_text())
    index(archive, library, model_dir=demo_dir / "model", progress=False)
    return archive, library, truth
