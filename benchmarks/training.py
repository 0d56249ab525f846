"""Training recipes against the same-run baselines, and contrastive+ssl when half the reports are missing.

On one synthetic archive (patients disjoint between splits), this trains:
  A. `contrastive` with every training report (the demo's recipe), scored with the random-init and
     downsampled-pixel baselines computed in the same run;
  D. `contrastive+ssl` with every training report;
  B. `contrastive` on the half of the training studies that keep their report;
  C. `contrastive+ssl` on all training images, the same half of reports;
  E. `contrastive+ssl+supervised`: D plus the manifest's labels through a training-only linear head;
  F. D with the `tiny-grid` preset: the same towers, the image tower's last feature map pooled to 2x2
     cells instead of one global mean, so the embedding keeps where a finding lies;
  G, H. B and C with the `tiny-grid` preset.
Each model indexes the whole archive and is evaluated on the test split. Training time of each run
(the sum of its epochs in train_log.jsonl, so a model already in --workdir is not trained again) is
printed; the issue's budget is 10 minutes on 2 CPU cores.

    python benchmarks/training.py [--workdir DIR] [--studies 800] [--seed 0] [-k 10] [--ssl-weight 1.0] [--runs A D]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from dataclasses import replace
from pathlib import Path

from radsearch import index, open_library
from radsearch.datasets import generate_archive, read_manifest, write_manifest
from radsearch.evaluation.retrieval import evaluate
from radsearch.training import TrainSettings, train

ROWS = ("image_precision_at_k", "image_map_at_k", "image_ndcg_at_k", "text_precision_at_k", "text_recall_at_k",
        "report_recall_at_k", "probe_auroc_mean")
FINDINGS = ("cardiomegaly", "consolidation", "nodule", "pleural_effusion", "pneumothorax")


def withhold_reports(manifest: Path, out: Path, fraction: float, seed: int) -> Path:
    """A copy of the manifest where `fraction` of the training studies lose their report (whole studies)."""
    records = read_manifest(manifest)
    studies = sorted({r.study_id for r in records if r.split == "train" and r.report})
    dropped = set(random.Random(seed).sample(studies, int(len(studies) * fraction)))
    return write_manifest([replace(r, report="") if r.study_id in dropped else r for r in records], out)


def run(name: str, manifest: Path, archive: Path, workdir: Path, settings: TrainSettings, k: int,
        baselines: tuple[str, ...] = ()) -> dict:
    model_dir = workdir / f"model-{name}"
    if not (model_dir / "radsearch.json").is_file():
        train(manifest, model_dir, settings, progress=False)
    log = [json.loads(line) for line in (model_dir / "train_log.jsonl").read_text().splitlines()]
    seconds = sum(entry["seconds"] for entry in log)
    library = workdir / f"library-{name}"
    index(archive, library, model_dir, progress=False)
    report = evaluate(open_library(library), archive / "manifest.csv", k=k, baselines=baselines, progress=False)
    return {"name": name, "train_seconds": round(seconds, 1), "report": report}


def figure(scores, row: str) -> float | None:  # noqa: ANN001 -- evaluation.retrieval.Scores
    """One printed figure: a Scores attribute, or "probe <finding>" for that finding's probe AUROC."""
    return scores.probe_auroc.get(row.removeprefix("probe ")) if row.startswith("probe ") else getattr(scores, row)


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--studies", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--ssl-weight", type=float, default=1.0)
    parser.add_argument("--runs", nargs="+", default=list("ADBCEFGH"), choices=list("ABCDEFGH"),
                        help="which runs (the baselines are measured with the first); A is the demo's recipe")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="radsearch-training-"))
    archive = workdir / "archive"
    if not (archive / "manifest.csv").is_file():
        generate_archive(archive, studies=args.studies, seed=args.seed, progress=False)
    half = withhold_reports(archive / "manifest.csv", workdir / "half-reports.csv", 0.5, args.seed)
    base = TrainSettings(seed=args.seed)

    both = replace(base, recipe="contrastive+ssl", weights={"ssl": args.ssl_weight})
    labelled = replace(base, recipe="contrastive+ssl+supervised", weights={"ssl": args.ssl_weight})
    grid, both_grid = replace(base, preset="tiny-grid"), replace(both, preset="tiny-grid")
    full = archive / "manifest.csv"
    plans = {  # letter -> (row title, model name, manifest, settings)
        "A": ("A. contrastive", "contrastive", full, base),
        "D": ("D. contrastive+ssl", "contrastive+ssl", full, both),
        "B": ("B. contrastive, half", "contrastive-half", half, base),
        "C": ("C. c+ssl, half", "contrastive+ssl-half", half, both),
        "E": ("E. c+ssl+supervised", "contrastive+ssl+supervised", full, labelled),
        "F": ("F. tiny-grid c+ssl", "grid-contrastive+ssl", full, both_grid),
        "G": ("G. tiny-grid c, half", "grid-contrastive-half", half, grid),
        "H": ("H. tiny-grid c+ssl, half", "grid-contrastive+ssl-half", half, both_grid),
    }
    chosen = [letter for letter in plans if letter in args.runs]
    runs = {plans[letter][0]: run(plans[letter][1], plans[letter][2], archive, workdir, plans[letter][3], args.k,
                                  ("random-init", "pixels") if letter == chosen[0] else ())
            for letter in chosen}
    a = next(iter(runs.values()))  # the first run carries the baselines
    baselines = {s.name: s for s in a["report"].baselines}
    print(f"synthetic archive: {args.studies} studies, seed {args.seed}; {a['report'].queries} test-split "
          f"queries; k={args.k}; half = reports of half the training studies withheld")
    print(f"{'metric':<26}" + "".join(f"{name:>22}" for name in runs) + "".join(f"{n:>13}" for n in baselines))
    for row in ROWS + tuple(f"probe {name}" for name in FINDINGS):
        values = [figure(r["report"].model, row) for r in runs.values()]
        values += [figure(scores, row) for scores in baselines.values()]
        cells = "".join(f"{fmt(v):>22}" for v in values[:len(runs)]) + "".join(f"{fmt(v):>13}"
                                                                                for v in values[len(runs):])
        print(f"{row.replace('_at_k', f'@{args.k}'):<26}" + cells)
    print(f"{'train seconds':<26}" + "".join(f"{r['train_seconds']:>22.0f}" for r in runs.values()))
    print(f"\nper label and body part, run {chosen[0]} and its baselines:")
    print(a["report"].table())
    (workdir / "results.json").write_text(json.dumps(
        {name: {"train_seconds": r["train_seconds"], **r["report"].to_dict()} for name, r in runs.items()},
        indent=1))


if __name__ == "__main__":
    main()
