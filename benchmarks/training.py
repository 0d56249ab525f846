"""Training recipes against the same-run baselines, and contrastive+ssl when half the reports are missing.

On one synthetic archive (patients disjoint between splits), this trains:
  A. `contrastive` with every training report (the demo's recipe), scored with the random-init and
     downsampled-pixel baselines computed in the same run;
  B. `contrastive` on the half of the training studies that keep their report;
  C. `contrastive+ssl` on all training images, the same half of reports.
Each model indexes the whole archive and is evaluated on the test split. Training time of each run
is printed; the issue's budget is 10 minutes on 2 CPU cores.

    python benchmarks/training.py [--workdir DIR] [--studies 800] [--seed 0] [-k 10] [--ssl-weight 1.0]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from radsearch import open_library
from radsearch.datasets import generate_archive, read_manifest, write_manifest
from radsearch.evaluation.retrieval import evaluate
from radsearch.indexer import index
from radsearch.training import TrainSettings, train

ROWS = ("image_precision_at_k", "image_map_at_k", "image_ndcg_at_k", "text_precision_at_k", "text_recall_at_k",
        "report_recall_at_k", "probe_auroc_mean")


def withhold_reports(manifest: Path, out: Path, fraction: float, seed: int) -> Path:
    """A copy of the manifest where `fraction` of the training studies lose their report (whole studies)."""
    records = read_manifest(manifest)
    studies = sorted({r.study_id for r in records if r.split == "train" and r.report})
    dropped = set(random.Random(seed).sample(studies, int(len(studies) * fraction)))
    return write_manifest([replace(r, report="") if r.study_id in dropped else r for r in records], out)


def run(name: str, manifest: Path, archive: Path, workdir: Path, settings: TrainSettings, k: int,
        baselines: tuple[str, ...] = ()) -> dict:
    model_dir = workdir / f"model-{name}"
    started = time.time()
    if not (model_dir / "radsearch.json").is_file():
        train(manifest, model_dir, settings, progress=False)
    seconds = time.time() - started
    library = workdir / f"library-{name}"
    index(archive, library, model_dir, progress=False)
    report = evaluate(open_library(library), archive / "manifest.csv", k=k, baselines=baselines, progress=False)
    return {"name": name, "train_seconds": round(seconds, 1), "report": report}


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--studies", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--ssl-weight", type=float, default=1.0)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="radsearch-training-"))
    archive = workdir / "archive"
    if not (archive / "manifest.csv").is_file():
        generate_archive(archive, studies=args.studies, seed=args.seed, progress=False)
    half = withhold_reports(archive / "manifest.csv", workdir / "half-reports.csv", 0.5, args.seed)
    base = TrainSettings(seed=args.seed)

    a = run("contrastive", archive / "manifest.csv", archive, workdir, base, args.k, ("random-init", "pixels"))
    b = run("contrastive-half", half, archive, workdir, base, args.k)
    c = run("contrastive+ssl-half", half, archive, workdir,
            replace(base, recipe="contrastive+ssl", weights={"ssl": args.ssl_weight}), args.k)

    report = a["report"]
    print(f"synthetic archive: {args.studies} studies, seed {args.seed}; {report.queries} test-split queries; "
          f"k={args.k}")
    print(f"\nA. all training reports (train {a['train_seconds']:.0f} s)")
    print(report.table())
    print("\nB/C. half of the training studies without a report")
    print(f"{'metric':<28}{'contrastive':>13}{'contrastive+ssl':>17}")
    for row in ROWS:
        vb, vc = getattr(b["report"], row), getattr(c["report"], row)
        print(f"{row.replace('_at_k', f'@{args.k}'):<28}{fmt(vb):>13}{fmt(vc):>17}")
    print(f"{'train seconds':<28}{b['train_seconds']:>13.0f}{c['train_seconds']:>17.0f}")
    (workdir / "results.json").write_text(json.dumps(
        {r["name"]: {"train_seconds": r["train_seconds"], **r["report"].to_dict()} for r in (a, b, c)}, indent=1))


if __name__ == "__main__":
    main()
