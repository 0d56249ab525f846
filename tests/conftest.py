"""Shared fixtures: a tiny archive + tiny model in seconds, and the real demo pipeline once per run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests must never reach a model hub

from radsearch.datasets import generate_archive  # noqa: E402
from radsearch.training import TrainSettings, train  # noqa: E402

SHARED_DICOMS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dicom-xray"
POSTGRES_ENV = "RADSEARCH_TEST_POSTGRES"  # a PostgreSQL server whose role may CREATEDB (.ci/run starts one)
BACKEND_DIRS = {"indexer", "storage", "search"}  # their tests that make libraries run on both catalogs


def pytest_generate_tests(metafunc) -> None:
    """Every test in BACKEND_DIRS that writes a library (it takes tmp_path) runs on SQLite and PostgreSQL."""
    if Path(str(metafunc.definition.fspath)).parent.name in BACKEND_DIRS and "tmp_path" in metafunc.fixturenames:
        metafunc.parametrize("catalog_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The test server's URL; PostgreSQL runs are skipped, visibly, where none was started."""
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(f"PostgreSQL run skipped: no server ({POSTGRES_ENV} is unset; .ci/run starts one)")
    return url


@pytest.fixture(autouse=True)
def catalog_backend(request, monkeypatch):
    """Where libraries made by this test keep their catalog: SQLite (default) or PostgreSQL, one database each."""
    from radsearch.storage.database import SERVER_ENV
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        monkeypatch.delenv(SERVER_ENV, raising=False)
        yield backend
        return
    server = request.getfixturevalue("postgres_server")
    monkeypatch.setenv(SERVER_ENV, server)
    before = _databases(server)
    yield backend
    from radsearch.storage.database import drop_database, parse
    for name in _databases(server) - before:
        drop_database(parse(server).set(database=name).render_as_string(hide_password=False))


def _databases(server: str) -> set[str]:
    from sqlalchemy import create_engine, text

    from radsearch.storage.database import parse
    engine = create_engine(parse(server))
    try:
        with engine.connect() as conn:
            return set(conn.scalars(text("SELECT datname FROM pg_database WHERE datname LIKE 'radsearch_%'")))
    finally:
        engine.dispose()


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
    from radsearch import index
    library = tmp_path_factory.mktemp("tiny-lib") / "library"
    index(tiny_archive, library, tiny_model, progress=False)
    return library


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The full demo (800 studies, trained encoders, library): about three minutes, built once.
    RADSEARCH_TEST_DEMO_DIR reuses a demo built by this checkout (`radsearch demo --dir D --no-ui`) while
    developing; CI always builds its own."""
    if os.environ.get("RADSEARCH_TEST_DEMO_DIR"):
        return Path(os.environ["RADSEARCH_TEST_DEMO_DIR"])
    from radsearch.demo import prepare_demo
    workdir = tmp_path_factory.mktemp("demo")
    prepare_demo(workdir, echo=lambda _: None)
    return workdir


@pytest.fixture(scope="session")
def shared_dicoms() -> Path:
    if not SHARED_DICOMS.is_dir():
        pytest.skip(f"real X-ray DICOMs not found at {SHARED_DICOMS} (they come with ../shared beside the checkout)")
    return SHARED_DICOMS


@pytest.fixture(scope="session")
def orthanc_server(tmp_path_factory):
    """A real Orthanc with DICOMweb: the one .ci/run started (RADSEARCH_TEST_ORTHANC), else a private one;
    the tests that need it are skipped, with the reason, where neither can run."""
    from orthanc_server import from_environment, start
    running = from_environment()
    if running is not None:
        yield running
        return
    try:
        server, process = start(tmp_path_factory.mktemp("orthanc"))
    except RuntimeError as e:
        pytest.skip(f"Orthanc tests skipped: {e}")
    yield server
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture()
def pacs(orthanc_server, monkeypatch):
    """The test PACS, emptied, with radsearch's credentials for it in the environment."""
    orthanc_server.clear()
    monkeypatch.setenv("RADSEARCH_PACS_USER", orthanc_server.user)
    monkeypatch.setenv("RADSEARCH_PACS_PASSWORD", orthanc_server.password)
    return orthanc_server
