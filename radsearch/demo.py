"""The demo: synthetic archive -> trained encoders -> library, each step skipped when already done."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .datasets import generate_archive, read_manifest
from .library import index, open_library
from .training import TrainSettings, train


def prepare_demo(workdir: str | Path, studies: int = 800, seed: int = 0,
                 echo: Callable[[str], None] = print) -> Path:
    """Build (or finish building) the demo under workdir; returns the library path."""
    workdir = Path(workdir)
    archive, model, library = workdir / "archive", workdir / "model", workdir / "library"
    started = time.time()
    manifest = archive / "manifest.csv"
    if manifest.is_file():
        echo(f"[1/3] archive: reusing {archive}")
    else:
        echo(f"[1/3] archive: generating {studies} synthetic studies in {archive}")
        generate_archive(archive, studies=studies, seed=seed)
    if (model / "radsearch.json").is_file():
        echo(f"[2/3] encoders: reusing {model}")
    else:
        echo(f"[2/3] encoders: training on the train split into {model}")
        # fp32 whatever the CPU: the demo's weights hash, and the figures and tests measured on it, are then
        # the same on machines with and without native bf16
        train(manifest, model, TrainSettings(seed=seed, precision="fp32"))
    echo(f"[3/3] library: indexing into {library}")
    summary = index(archive, library, model)
    echo(f"      {summary}")
    echo(f"demo ready in {time.time() - started:.0f} s")
    return library


def print_examples(library: Path, manifest: Path, echo: Callable[[str], None] = print, k: int = 5) -> None:
    """Image->image, text->image and image->report searches with a test-split patient as the query."""
    lib = open_library(library)
    test = [r for r in read_manifest(manifest) if r.split == "test" and r.view == "PA"]
    query = next((r for r in test if "pleural_effusion" in r.labels), test[0] if test else None)
    if query is None:
        echo("no test-split PA image to query with")
        return
    echo(f"\nimage -> image: query {query.path}  [{', '.join(query.labels) or 'no findings'}]")
    for hit in lib.search.image(query.path, k, where={"patient_id": {"not": query.patient_id}}):
        echo(f"  {hit.score:.3f}  {hit.metadata['body_part']}/{hit.metadata['view']}  "
             f"[{', '.join(hit.labels) or 'no findings'}]  {hit.study_key}")
    for text in ("pleural effusion", "cardiomegaly"):
        echo(f"\ntext -> image: \"{text}\"")
        for hit in lib.search.text(text, k):
            echo(f"  {hit.score:.3f}  {hit.metadata['body_part']}/{hit.metadata['view']}  "
                 f"[{', '.join(hit.labels) or 'no findings'}]  {hit.study_key}")
    echo(f"\nimage -> report: query {query.path}")
    for hit in lib.search.reports(query.path, 3):
        echo(f"  {hit.score:.3f}  {hit.study_key}: {hit.why.highlight(hit.text, ('[', ']')) if hit.why else hit.text}")
    echo(f"\ndraft report for {query.path} (from the 10 most similar reported studies of other patients):")
    for line in lib.search.draft(query.path).text.splitlines():
        echo(f"  {line}")
