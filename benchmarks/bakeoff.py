"""The encoder bake-off on the demo archive: radsearch's trained model beside a stand-in of every published
family, RAD-DINO given a text side by `radsearch align`, raw pixels and random-init, one table, same run.

It is `radsearch eval --library LIB --queries M --baseline pixels --baseline random-init --compare DIR ...`
with the stand-ins written first. The stand-ins have random weights (the real checkpoints cannot be
downloaded here), so their columns show the bake-off working and what an untrained network of each family
gives, not what RAD-DINO or BiomedCLIP would score: for that, point --compare at the real directories.

    python benchmarks/bakeoff.py [--workdir DIR] [--image-size 64] [-k 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from radsearch import open_library
from radsearch.demo import prepare_demo
from radsearch.evaluation.retrieval import evaluate
from radsearch.models.standins import KINDS, write_standin
from radsearch.training import AlignSettings, align


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None, help="a demo directory to reuse (else a new demo)")
    parser.add_argument("--image-size", type=int, default=64, help="input size of the tiny stand-ins")
    parser.add_argument("--align-epochs", type=int, default=30)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="radsearch-bakeoff-"))
    library = prepare_demo(workdir, echo=lambda _: None)
    manifest = workdir / "archive" / "manifest.csv"
    with tempfile.TemporaryDirectory() as folder:
        candidates = [write_standin(kind, Path(folder) / kind, image_size=args.image_size)
                      for kind in KINDS if kind != "bert"]
        started = time.time()
        aligned = align(Path(folder) / "rad-dino", manifest, Path(folder) / "rad-dino-aligned",
                        AlignSettings(epochs=args.align_epochs), progress=False)
        align_s = time.time() - started
        started = time.time()
        report = evaluate(open_library(library), manifest, k=args.k, baselines=("pixels", "random-init"),
                          compare=[*candidates, aligned], progress=False)
        eval_s = time.time() - started
    print(f"demo archive {manifest}; {report.queries} test-split queries; stand-ins at {args.image_size} px; "
          f"align {align_s:.0f} s; evaluation of {len(report.baselines) + 1} encoders {eval_s:.0f} s\n")
    print(report.table())


if __name__ == "__main__":
    main()
