"""Retrieval quality of the demo pipeline against a random-init encoder and downsampled pixels.

All three are measured in this run on the same synthetic archive and library; queries are the
test split (patients never seen in training), each excluding its own patient.

    python benchmarks/retrieval_quality.py [--workdir DIR] [--studies 800] [--seed 0] [-k 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from radsearch import open_library
from radsearch.demo import prepare_demo
from radsearch.evaluation.retrieval import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="keep the archive, models and libraries here")
    parser.add_argument("--studies", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="radsearch-bench-"))

    started = time.time()
    trained_library = prepare_demo(workdir, studies=args.studies, seed=args.seed, echo=lambda _: None)
    pipeline_s = time.time() - started
    manifest = workdir / "archive" / "manifest.csv"
    report = evaluate(open_library(trained_library), manifest, k=args.k, baselines=("random-init", "pixels"),
                      progress=False)
    if args.json:
        print(json.dumps(report.to_dict() | {"pipeline_seconds": round(pipeline_s, 1)}))
        return
    print(f"synthetic archive: {args.studies} studies, seed {args.seed}; {report.queries} test-split queries; "
          f"demo pipeline (synth+train+index) {pipeline_s:.0f} s")
    print(report.table())


if __name__ == "__main__":
    main()
