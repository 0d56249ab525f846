"""Task heads on the demo library: probe and zero-shot AUROC per finding, and where localisation maps peak.

Heads: linear and MLP probes fitted on the train and val splits, a zero-shot head with the prompts
"<finding>" / "no <finding>"; all scored on the test split (patients never seen), beside the same
probe and prompts on a random-init encoder's embeddings (radsearch eval, same run).

Localisation: for every finding the generator drew on a test-split image, does the map's peak fall
inside the drawn region? Baseline: a uniform map, whose peak lands anywhere, so it hits a region as
often as the region's share of the image (its area, averaged over the same cases).

    python benchmarks/heads.py [--workdir DIR] [--studies 800] [--seed 0] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from radsearch import open_library
from radsearch.datasets import read_manifest
from radsearch.demo import prepare_demo
from radsearch.evaluation.retrieval import evaluate

PHRASES = {"pleural_effusion": "pleural effusion", "pneumothorax": "pneumothorax", "nodule": "nodule",
           "consolidation": "consolidation", "cardiomegaly": "cardiomegaly"}


def head_aurocs(lib, records) -> dict[str, dict[str, float]]:  # noqa: ANN001
    """AUROC per finding on test-split chest images of heads fitted without them."""
    where = {"split": ["train", "val"], "body_part": "CHEST"}
    lib.heads.train("bench-linear", where=where)
    lib.heads.train("bench-mlp", kind="mlp", where=where)
    lib.heads.zero_shot("bench-zero-shot", labels=list(PHRASES), where=where)
    test = [r for r in records if r.split == "test" and r.body_part == "CHEST"]
    ids = [lib.find_file(r.path) for r in test]
    out: dict[str, dict[str, float]] = {}
    for head in ("bench-linear", "bench-mlp", "bench-zero-shot"):
        answers = [lib.heads.predict(i, head) for i in ids]
        for finding in PHRASES:
            truth = [finding in r.labels for r in test]
            scores = [a.targets[finding].probability for a in answers]
            out.setdefault(finding, {})[head.removeprefix("bench-")] = float(roc_auc_score(truth, scores))
    return out


def localisation(lib, records, limit: int | None) -> dict:  # noqa: ANN001
    cases = [(r, f, box) for r in records if r.split == "test" and r.regions
             for f, box in json.loads(r.regions).items()][:limit]
    variants = {"occlusion 16x16, phrase": dict(method="occlusion"),
                "occlusion 8x8, phrase": dict(method="occlusion", grid=8),
                "tokens, phrase": dict(method="tokens"),
                "occlusion 16x16, linear head": dict(method="occlusion", head="bench-linear")}
    rows = {}
    for name, options in variants.items():
        options = dict(options)
        head = options.pop("head", None)
        inside: dict[str, list[bool]] = {}
        started = time.perf_counter()
        for r, finding, box in cases:
            if head:
                made = lib.heads.explain(r.path, head=head, target=finding, **options)
            else:
                made = lib.heads.explain(r.path, text=PHRASES[finding], **options)
            y, x = made.peak
            inside.setdefault(finding, []).append(box[0] <= y <= box[2] and box[1] <= x <= box[3])
        seconds = (time.perf_counter() - started) / len(cases)
        rows[name] = {"per_finding": {f: float(np.mean(v)) for f, v in sorted(inside.items())},
                      "all": float(np.mean([v for vs in inside.values() for v in vs])), "seconds_per_map": seconds}
    areas: dict[str, list[float]] = {}
    for _, finding, box in cases:
        areas.setdefault(finding, []).append((box[2] - box[0]) * (box[3] - box[1]))
    rows["uniform map (baseline)"] = {"per_finding": {f: float(np.mean(v)) for f, v in sorted(areas.items())},
                                      "all": float(np.mean([a for vs in areas.values() for a in vs])),
                                      "seconds_per_map": 0.0}
    return {"cases": len(cases), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="reuse or keep the demo build here")
    parser.add_argument("--studies", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="localisation cases to score (default: all)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="radsearch-bench-"))
    built = prepare_demo(workdir, studies=args.studies, seed=args.seed, echo=lambda _: None)
    library = Path(tempfile.mkdtemp(prefix="radsearch-heads-")) / "library"
    shutil.copytree(built, library, ignore=shutil.ignore_patterns("heads"))  # the demo's own library stays as it is
    lib = open_library(library)
    manifest = workdir / "archive" / "manifest.csv"
    records = read_manifest(manifest)

    aurocs = head_aurocs(lib, records)
    report = evaluate(lib, manifest, baselines=("random-init",), progress=False)
    random_init = report.baselines[0]
    print("AUROC per finding on test-split chest films (heads fitted on train+val)")
    print(f"{'finding':<18} {'linear':>7} {'mlp':>7} {'zero-shot':>9}   eval, all test images: "
          f"{'probe':>6} {'probe r-i':>9} {'zero-shot':>9} {'zs r-i':>7}")
    for finding, row in aurocs.items():
        print(f"{finding:<18} {row['linear']:>7.3f} {row['mlp']:>7.3f} {row['zero-shot']:>9.3f}   "
              f"{'':>22}{report.model.probe_auroc.get(finding, float('nan')):>6.3f} "
              f"{random_init.probe_auroc.get(finding, float('nan')):>9.3f} "
              f"{report.model.zero_shot_auroc.get(finding, float('nan')):>9.3f} "
              f"{random_init.zero_shot_auroc.get(finding, float('nan')):>7.3f}")

    located = localisation(lib, records, args.limit)
    uniform = located["rows"]["uniform map (baseline)"]["all"]
    print(f"\nlocalisation: peak inside the drawn region, {located['cases']} findings on test-split films")
    findings = list(next(iter(located["rows"].values()))["per_finding"])
    print(f"{'map':<30} {'all':>6} {'vs uniform':>10} {'s/map':>6}  " + " ".join(f"{f[:12]:>12}" for f in findings))
    for name, row in located["rows"].items():
        print(f"{name:<30} {row['all']:>6.3f} {row['all'] / uniform:>9.1f}x {row['seconds_per_map']:>6.2f}  "
              + " ".join(f"{row['per_finding'][f]:>12.3f}" for f in findings))
    shutil.rmtree(library.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
