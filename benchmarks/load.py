"""Search under load: N client processes issue mixed image and text searches (one in three filtered)
against one library, first alone (the baseline), then while the indexer adds studies to it.

Reports throughput, p50/p99 latency, errors and incomplete answers (a result list shorter than k while
the library held k images: what a half-written index would show), and the ratio of throughput while
indexing to the baseline measured in the same run. Every search is also written to the audit log.

    python benchmarks/load.py [--studies 300] [--add 100] [--clients 1 2 4] [--seconds 20] [--model DIR]

Without --model the `tiny` preset with untrained weights is used: speed does not depend on the weights.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import untrained_model

from radsearch import index
from radsearch.datasets import generate_archive
from radsearch.evaluation.load import run_load
from radsearch.storage import LibraryStore

TEXTS = ["left pleural effusion", "no pneumothorax", "fracture of the distal radius", "cardiomegaly without effusion",
         "nodule in the right upper zone", "normal knee radiograph"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=300, help="studies in the library before the run")
    parser.add_argument("--add", type=int, default=100, help="studies the indexer adds during each loaded run")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each baseline run")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--model", type=Path, help="a model directory (default: tiny preset, untrained)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="radsearch-load-"))
    model = args.model
    if model is None:
        model = untrained_model().save_pretrained(work / "model")
    base, extra = work / "archive", work / "more"
    if not (base / "manifest.csv").is_file():
        generate_archive(base, studies=args.studies, seed=1, progress=False)
    if not (extra / "manifest.csv").is_file():
        generate_archive(extra, studies=args.add, seed=2, progress=False)
    pristine = work / "library"
    if not (pristine / "radsearch.toml").is_file():
        index(base, pristine, model, progress=False)
    images = [str(p) for p in sorted(base.rglob("*.dcm"))[:50]]
    print(f"library: {LibraryStore.open(pristine).counts()['images']} images; the indexer adds "
          f"{sum(1 for p in extra.rglob('*') if p.suffix in ('.dcm', '.png'))} image files per loaded run")
    print(f"{'clients':>7}  {'indexer':>7}  {'searches/s':>10}  {'p50 ms':>7}  {'p99 ms':>7}  {'errors':>6}  "
          f"{'incomplete':>10}  {'saw new':>7}  {'vs alone':>8}")
    for clients in args.clients:
        alone = run_load(pristine, images, TEXTS, clients=clients, k=args.k, seconds=args.seconds)
        library = work / f"loaded-{clients}"
        shutil.rmtree(library, ignore_errors=True)
        shutil.copytree(pristine, library, dirs_exist_ok=True)

        def add_studies(target: Path = library) -> None:
            subprocess.run([sys.executable, "-m", "radsearch.cli", "index", str(extra), "--library", str(target)],
                           check=True, capture_output=True)

        loaded = run_load(library, images, TEXTS, clients=clients, k=args.k, during=add_studies, settle=3.0)
        total = LibraryStore.open(library).counts()["images"]
        saw_new = all(last == total for _, last in loaded.images_seen)
        for name, report in (("no", alone), ("yes", loaded)):
            ratio = f"{loaded.throughput / alone.throughput:8.2f}" if name == "yes" and alone.throughput else ""
            print(f"{clients:>7}  {name:>7}  {report.throughput:>10.1f}  {report.percentile(50):>7.1f}  "
                  f"{report.percentile(99):>7.1f}  {len(report.errors):>6}  {report.incomplete:>10}  "
                  f"{('yes' if saw_new else 'NO') if name == 'yes' else '':>7}  {ratio:>8}")
            for error in report.errors[:3]:
                print(error)


if __name__ == "__main__":
    main()
