"""Report labels on real reports: radsearch's medspaCy reader against the labeller it replaced, same run.

Data: the Indiana University chest X-ray reports (Demner-Fushman et al., 2016; licence CC BY-NC-ND 4.0)
with the MeSH terms that annotators assigned by hand (<major>), as shipped inside the torchxrayvision
wheel on PyPI (torchxrayvision/data/NLMCXR_reports.tgz). The wheel is downloaded once into a cache by
pip (or given with --wheel) and read in place; no report is copied into the repository.

Truth: a report has a finding when one of its major MeSH terms starts with a heading mapped to it
(MESH below); its side, when the term carries a left/right/bilateral qualifier. Text labelled: the
report's FINDINGS and IMPRESSION, as "FINDINGS: ... IMPRESSION: ...". Both labellers see the same
text. Scores: per-finding precision, recall and F1, and micro F1 over all findings; for the new
reader also the share of true positives whose side it gives matches the MeSH side (where MeSH gives
one). Then a table of hard phrasings (negation scope, uncertainty, resolution, comparison,
laterality) with the reading each labeller gives.

    python benchmarks/report_labels.py [--wheel torchxrayvision-1.5.7-py3-none-any.whl] [--limit N]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import legacy_report_labels as legacy  # noqa: E402

from radsearch.datasets.report_labels import FINDING_LABELS, mine_labels  # noqa: E402
from radsearch.datasets.report_reading import read_report  # noqa: E402

WHEEL = "torchxrayvision==1.5.7"
MEMBER = "torchxrayvision/data/NLMCXR_reports.tgz"
MESH = {  # radsearch label -> MeSH headings (the part before the first "/") that mean it
    "cardiomegaly": {"Cardiomegaly"},
    "pleural_effusion": {"Pleural Effusion"},
    "pneumothorax": {"Pneumothorax"},
    "nodule": {"Nodule", "Multiple Pulmonary Nodules", "Solitary Pulmonary Nodule"},
    "consolidation": {"Consolidation", "Airspace Disease"},
    "atelectasis": {"Pulmonary Atelectasis"},
    "edema": {"Pulmonary Edema", "Pulmonary Congestion"},
    "fracture": {"Fractures, Bone"},
}
SIDES = {"left": "left", "right": "right", "bilateral": "bilateral"}
HARD_CASES = [  # (phrasing, what it says, the labels a radiologist reads in it)
    ("No change in the left pleural effusion.", "comparison: persists", {"pleural_effusion"}),
    ("No pneumothorax, but there is a large left pleural effusion.", "negation scope ends at 'but'",
     {"pleural_effusion"}),
    ("Cannot exclude pneumothorax.", "uncertainty", set()),
    ("A small pneumothorax cannot be excluded.", "uncertainty, after the finding", set()),
    ("Interval resolution of pneumothorax.", "resolution", set()),
    ("The right pleural effusion has resolved.", "resolution, after the finding", set()),
    ("Pneumothorax is no longer seen.", "resolution", set()),
    ("Stable cardiomegaly.", "comparison: persists", {"cardiomegaly"}),
    ("Unchanged small left pleural effusion.", "comparison: persists", {"pleural_effusion"}),
    ("No pneumothorax or pleural effusion.", "negation over a list", set()),
    ("No focal consolidation. Mild cardiomegaly.", "negation stays in its sentence", {"cardiomegaly"}),
    ("Discussed with Dr. Smith. No effusion.", "title 'Dr.' is no sentence end", set()),
    ("Heart size is normal.", "absence without a negation word", set()),
    ("Possible right lower lobe consolidation.", "uncertainty", set()),
    ("Left pleural effusion and right pneumothorax.", "laterality of two findings",
     {"pleural_effusion", "pneumothorax"}),
    ("FINDINGS: Clear lungs. IMPRESSION: Normal. NOTIFICATION: Effusion query discussed with Dr. Jones.",
     "unknown header is not the impression", set()),
]


def _wheel(path: str | None, cache: Path) -> Path:
    if path:
        return Path(path)
    found = sorted(cache.glob("torchxrayvision-*.whl"))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        print(f"downloading {WHEEL} (about 29 MB) into {cache}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), WHEEL],
                       check=True)
        found = sorted(cache.glob("torchxrayvision-*.whl"))
    return found[-1]


def load_reports(wheel: Path) -> list[tuple[str, dict[str, set[str]]]]:
    """(report text, {label: MeSH sides}) for every IU report with findings or an impression."""
    with zipfile.ZipFile(wheel) as archive:
        blob = archive.read(MEMBER)
    reports = []
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.name.endswith(".xml"):
                continue
            root = ET.parse(tar.extractfile(member)).getroot()
            text = {a.get("Label"): (a.text or "").strip() for a in root.iter("AbstractText")}
            if not (text.get("FINDINGS") or text.get("IMPRESSION")):
                continue
            truth: dict[str, set[str]] = {}
            for term in root.iter("major"):
                heading, *qualifiers = [part.strip() for part in (term.text or "").split("/")]
                for label, headings in MESH.items():
                    if heading in headings:
                        truth.setdefault(label, set()).update(SIDES[q] for q in qualifiers if q in SIDES)
            parts = [f"{name}: {text[name]}" for name in ("FINDINGS", "IMPRESSION") if text.get(name)]
            reports.append((" ".join(parts), truth))
    return reports


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", help="a downloaded torchxrayvision wheel (default: pip download into --cache)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "radsearch-benchmarks"))
    parser.add_argument("--limit", type=int, default=0, help="score only the first N reports")
    args = parser.parse_args()
    reports = load_reports(_wheel(args.wheel, Path(args.cache)))
    if args.limit:
        reports = reports[:args.limit]
    print(f"{len(reports)} IU reports with findings or impression; "
          f"{sum(bool(t) for _, t in reports)} with a mapped MeSH finding")
    read_report("warm-up: build the pipeline")
    timings, predictions = {}, {}
    for name, labeller in (("old", legacy.mine_labels), ("new", mine_labels)):
        start = time.perf_counter()
        predictions[name] = [labeller(text) for text, _ in reports]
        timings[name] = (time.perf_counter() - start) / len(reports) * 1000
    counts = {name: {label: [0, 0, 0] for label in FINDING_LABELS} for name in predictions}
    for i, (_, truth) in enumerate(reports):
        for name, predicted in predictions.items():
            for label in FINDING_LABELS:
                tally = counts[name][label]
                if label in truth and label in predicted[i]:
                    tally[0] += 1
                elif label in predicted[i]:
                    tally[1] += 1
                elif label in truth:
                    tally[2] += 1
    print("\n| finding | reports | old P | old R | old F1 | new P | new R | new F1 |")
    print("|---|---|---|---|---|---|---|---|")
    for label in FINDING_LABELS:
        old, new = _prf(*counts["old"][label]), _prf(*counts["new"][label])
        support = counts["new"][label][0] + counts["new"][label][2]
        print(f"| {label} | {support} | " + " | ".join(f"{x:.3f}" for x in (*old, *new)) + " |")
    micro = {name: _prf(*[sum(t[k] for t in counts[name].values()) for k in range(3)]) for name in counts}
    print("| **micro** | | " + " | ".join(f"{x:.3f}" for x in (*micro["old"], *micro["new"])) + " |")
    print(f"\nms per report: old {timings['old']:.2f}, new {timings['new']:.2f}")
    sided = agree = 0
    for text, truth in reports:
        reading = read_report(text)
        for label, sides in truth.items():
            if len(sides) == 1 and label in reading.labels():
                given = reading.sides(label)
                sided += 1
                agree += given == sides
    print(f"side: the new reader gives the MeSH side for {agree} of {sided} true positives with one MeSH side "
          f"({agree / max(sided, 1):.2f}); the old labeller gives no side")
    print("\n| phrasing | what it tests | radiologist | old | new (status, side) |")
    print("|---|---|---|---|---|")
    right = {"old": 0, "new": 0}
    for text, what, expected in HARD_CASES:
        old, new = legacy.mine_labels(text), mine_labels(text)
        right["old"] += old == expected
        right["new"] += new == expected
        detail = "; ".join(f"{f.label} {f.status}{' ' + f.side if f.side else ''}" for f in read_report(text).findings)
        print(f"| {text} | {what} | {', '.join(sorted(expected)) or 'none'} | "
              f"{', '.join(sorted(old)) or 'none'}{'' if old == expected else ' ✗'} | "
              f"{detail or 'none'}{'' if new == expected else ' ✗'} |")
    print(f"\nhard cases read right: old {right['old']} of {len(HARD_CASES)}, new {right['new']} of {len(HARD_CASES)}")


if __name__ == "__main__":
    main()
