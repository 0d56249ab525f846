"""`radsearch index --ray`: embedding on a (local) Ray cluster gives the library a local run gives."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from radsearch import index
from radsearch.storage import LibraryStore
from radsearch.storage.schema import Image

ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'radsearch[ray]')")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _images(library) -> dict:
    store = LibraryStore.open(library)
    with store.catalog.session() as s:
        return {(i.content_hash, i.frame): (i.path, i.study.study_key, i.body_part, i.width,
                                            np.frombuffer(i.embedding, np.float32))
                for i in s.scalars(select(Image))}


def test_ray_indexing_equals_a_local_run(local_ray, tiny_archive, tiny_model, tiny_library, tmp_path):
    summary = index(tiny_archive, tmp_path / "lib", tiny_model, batch_size=8, progress=False, ray_address="local")
    local, remote = _images(tiny_library), _images(tmp_path / "lib")
    assert summary.added == len(local) and remote.keys() == local.keys()
    for key, (*facts, vector) in local.items():
        assert remote[key][:-1] == tuple(facts)
        np.testing.assert_allclose(remote[key][-1], vector, atol=1e-5)
    store = LibraryStore.open(tmp_path / "lib")
    assert store.counts() == LibraryStore.open(tiny_library).counts()
    for kind in ("images", "reports", "sentences"):
        assert store.vectors(kind).ntotal == store.counts()[kind]
    assert len(list((tmp_path / "lib" / "thumbs").glob("*.png"))) == len(local)
    # the next run, on Ray or not, finds nothing new
    assert index(tiny_archive, tmp_path / "lib", progress=False, ray_address="local").added == 0
