"""Retrieval quality of the demo pipeline against the same pipeline with a random-init encoder.

Both are measured in this run on the same synthetic archive; queries are the test split
(patients never seen in training), each excluding its own patient. Prints one table and
the trained-minus-random difference.

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
from radsearch.evaluation.baselines import random_init_model
from radsearch.evaluation.retrieval import evaluate
from radsearch.indexer import index

METRICS = ("image_precision_at_k", "image_map_at_k", "text_precision_at_k", "text_recall_at_k", "report_recall_at_k")


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
    random_model = random_init_model(workdir / "model", workdir / "random-model", seed=args.seed)
    index(workdir / "archive", workdir / "random-library", random_model, progress=False)

    trained = evaluate(open_library(trained_library), manifest, k=args.k, progress=False).to_dict()
    baseline = evaluate(open_library(workdir / "random-library"), manifest, k=args.k, progress=False).to_dict()
    if args.json:
        print(json.dumps({"trained": trained, "random_init": baseline, "pipeline_seconds": round(pipeline_s, 1)}))
        return
    print(f"synthetic archive: {args.studies} studies, seed {args.seed}; {trained['queries']} test-split queries; "
          f"demo pipeline (synth+train+index) {pipeline_s:.0f} s")
    print(f"{'metric':<28}{'trained':>10}{'random-init':>13}{'difference':>12}")
    for name in METRICS:
        a, b = trained[name], baseline[name]
        label = name.replace("_at_k", f"@{args.k}")
        if a is None or b is None:
            print(f"{label:<28}{'n/a':>10}{'n/a':>13}")
        else:
            print(f"{label:<28}{a:>10.3f}{b:>13.3f}{a - b:>+12.3f}")


if __name__ == "__main__":
    main()
