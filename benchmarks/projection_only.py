"""Projection-only alignment on frozen towers: cached tower outputs against running the towers every step.

The towers of an already trained model stand in for "strong pretrained towers": they are saved as
local checkpoints, loaded with --init-image/--init-text, frozen, and only new projections are trained.
Both variants train on the same data with the same settings; the script prints seconds per epoch,
the speed-up, and the image->image precision@10 each resulting model reaches on the test split.

    python benchmarks/projection_only.py --workdir /tmp/bench-train [--epochs 20]

--workdir must hold archive/ and model-contrastive/ from benchmarks/training.py (or the demo's
archive/ and model/, given with --model).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from radsearch import index, open_library
from radsearch.evaluation.retrieval import evaluate
from radsearch.models import RadsearchModel
from radsearch.training import TrainSettings, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None, help="trained model whose towers are reused")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    work = args.workdir
    source = RadsearchModel.from_pretrained(args.model or work / "model-contrastive")
    towers = work / "towers"
    source.save_tower("image", towers / "image")
    source.save_tower("text", towers / "text")
    source.tokenizer.save_pretrained(towers / "text")
    manifest = work / "archive" / "manifest.csv"
    base = TrainSettings(init_image=str(towers / "image"), init_text=str(towers / "text"), freeze=("image", "text"),
                         epochs=args.epochs, lr=1e-3, warmup_steps=5)
    results = {}
    for name, cached in (("towers every step", False), ("cached towers", True)):
        out = work / f"projection-{'cached' if cached else 'uncached'}"
        started = time.time()
        train(manifest, out, replace(base, cache_frozen=cached), progress=False)
        seconds = time.time() - started
        library = work / f"library-{out.name}"
        index(work / "archive", library, out, progress=False)
        report = evaluate(open_library(library), manifest, k=10, progress=False)
        results[name] = {"seconds": round(seconds, 1), "p@10": round(report.image_precision_at_k, 3),
                         "text p@10": round(report.text_precision_at_k or 0, 3)}
    slow, fast = results["towers every step"]["seconds"], results["cached towers"]["seconds"]
    for name, r in results.items():
        print(f"{name:<20} {r['seconds']:>7.1f} s for {args.epochs} epochs  image p@10 {r['p@10']:.3f}  "
              f"text p@10 {r['text p@10']:.3f}")
    print(f"speed-up of caching: {slow / fast:.1f}x")
    (work / "projection-only.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
