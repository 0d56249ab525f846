"""Training recipes on real radiographs, beside raw pixels and random weights measured in the same run.

Each candidate recipe trains on the train split of `../shared/data/real-dev` (FracAtlas hands, legs, hips
and shoulders; Kermany paediatric chests; an NIH ChestX-ray14 sample; no reports: SOURCES.md there) within
the CPU budget, and is evaluated on the test split: image->image precision@k by label overlap (own
patient or near-duplicate cluster excluded; an unlabelled image is normal only within its own source),
per body part, per source and per label, a linear probe's AUROC (folds grouped by patient), and
text->image precision@k with the sentence built from each query's labels where the model has a text side.
The gallery is every train and test image, as a library holding the archive would be.

    python benchmarks/real_quality.py [--data DIR] [--workdir DIR] [--candidates auto ssl ...] [--epochs N]

The folder is never copied into the repository; without it this prints why and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from radsearch.datasets import read_manifest
from radsearch.evaluation.holdout import decode_records, evaluate_holdout
from radsearch.models import load_encoder
from radsearch.training import TrainSettings, train
from radsearch.training.loop import resolve_recipe, training_records

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-dev"
CANDIDATES = {  # name -> settings over the run's base settings; "auto" is what `radsearch train` does
    "auto": {},
    "auto-without-labels": {"recipe": "supervised+anatomy+contrastive", "label_text": True, "preset": "tiny-grid4",
                            "epochs": 100},  # auto's labelled recipe before 2026-12-07
    "auto-ema0.99": {"ema": 0.99},  # auto, saving a moving average of the weights
    "auto-without-memory": {"label_memory": 0},  # auto's labels objective on each batch alone (before 2026-12-07)
    "ssl+anatomy": {"recipe": "ssl+anatomy"},
    "supervised": {"recipe": "supervised"},
    "supervised+anatomy": {"recipe": "supervised+anatomy"},
    "labels+anatomy": {"recipe": "labels+anatomy"},
    "sup+anat+label-text": {"recipe": "supervised+anatomy+contrastive", "label_text": True, "preset": "tiny"},
    "sup+anat+label-text-grid4": {"recipe": "supervised+anatomy+contrastive", "label_text": True,
                                  "preset": "tiny-grid4"},
}
ROWS = ("image_precision_at_k", "image_map_at_k", "image_ndcg_at_k", "probe_auroc_mean", "text_precision_at_k")


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workdir", type=Path, default=None, help="keeps models; a model already there is reused")
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every candidate (default: the recipe's)")
    parser.add_argument("--image-size", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    manifest = args.data / "manifest.csv"
    if not manifest.is_file():
        print(f"skipped: no real radiographs at {args.data} (the real-dev folder lies beside the repository, "
              "in ../shared/data/real-dev; it is never copied into it)")
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="radsearch-real-"))
    records = read_manifest(manifest)
    gallery = [r for r in records if r.split in ("train", "test")]
    queries = [r for r in records if r.split == "test"]
    kept, images = decode_records(gallery, progress=False)
    decoded = {r.path: image for r, image in zip(kept, images)}
    base = TrainSettings(seed=args.seed, image_size=args.image_size)
    results, baselines = {}, None
    for name in args.candidates:
        settings = replace(base, **CANDIDATES[name])
        if args.epochs:
            settings = replace(settings, epochs=args.epochs)
        chosen, reason = resolve_recipe(settings, training_records(manifest, settings))
        model_dir = workdir / f"model-{name}"
        started = time.time()
        if not (model_dir / "radsearch.json").is_file():
            train(manifest, model_dir, settings, progress=False)
        log = [json.loads(line) for line in (model_dir / "train_log.jsonl").read_text().splitlines()]
        report = evaluate_holdout(load_encoder(model_dir), gallery, queries, k=args.k, seed=args.seed,
                                  baselines=("pixels", "random-init") if baselines is None else (), decoded=decoded)
        if baselines is None:
            baselines = report.baselines
        results[name] = {"recipe": chosen.recipe, "reason": reason, "train_minutes": sum(e["seconds"] for e in log)
                         / 60, "wall_minutes": (time.time() - started) / 60, "report": report}
        print(f"{name}: recipe {chosen.recipe}, {len(log)} epochs, {results[name]['train_minutes']:.1f} min of "
              f"training; image precision@{args.k} {report.model.image_precision_at_k:.3f}", flush=True)
    columns = [(name, r["report"].model) for name, r in results.items()] + [(b.name, b) for b in baselines]
    width = max(22, *(len(name) + 2 for name, _ in columns))
    print(f"\nreal-dev: {len(gallery)} gallery images, {len(queries)} test queries, k={args.k}, seed {args.seed}")
    print(f"{'':<30}" + "".join(f"{name:>{width}}" for name, _ in columns))
    for row in ROWS:
        print(f"{row.replace('_at_k', f'@{args.k}'):<30}" + "".join(f"{fmt(getattr(s, row)):>{width}}"
                                                                   for _, s in columns))
    for key, title in (("by_body_part", "body part"), ("by_source", "source"), ("by_label", "label")):
        names = sorted(set().union(*(getattr(s, key) for _, s in columns)) - {""})
        for part in names:
            print(f"{f'  p@{args.k} {title} {part}':<30}" + "".join(f"{fmt(getattr(s, key).get(part)):>{width}}"
                                                                   for _, s in columns))
    print(f"{'train minutes':<30}" + "".join(f"{r['train_minutes']:>{width}.1f}" for r in results.values()))
    (workdir / "results.json").write_text(json.dumps(
        {name: {k: v for k, v in r.items() if k != "report"} | r["report"].to_dict() for name, r in results.items()},
        indent=1))
    print(f"\nmodels and results.json in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
