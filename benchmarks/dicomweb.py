"""Hospital paths, each beside its local peer in the same run.

1. Indexing the same DICOM set from a local folder and from a PACS (Orthanc, DICOMweb: QIDO-RS lists,
   WADO-RS fetches each instance), both through radsearch's pipeline with the same workers: images/s.
2. Search latency through the REST API (`radsearch serve`, uvicorn, HTTP on loopback) against the Python
   API on the same library, with 1, 4 and 16 concurrent clients: p50 and p95 per request. The Python
   API's clients are threads in this process; the REST clients are threads sending HTTP to the server
   process, so both share the same 2 cores and only the HTTP layer differs.

Archive: FILES synthetic radiographs (benchmarks/index.py's, half JPEG-LS) at SIZE x SIZE; the model is
the tiny preset untrained (speed does not depend on the weights). Orthanc is the tests' private one
(tests/orthanc_server.py: Debian's orthanc and orthanc-dicomweb).

    python benchmarks/dicomweb.py [--files 400] [--size 512] [--queries 48]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from index import make_archive, make_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from orthanc_server import start  # noqa: E402 - the tests' launcher, shared rather than copied

from radsearch import index, open_library  # noqa: E402
from radsearch.pacs import PacsCredentials  # noqa: E402

QUERIES = ["left pleural effusion", "cardiomegaly", "right apical pneumothorax", "nodule in the right upper zone",
           "normal chest radiograph", "hand fracture", "knee effusion", "consolidation without effusion"]


def upload(orthanc, archive: Path) -> float:
    """Every file into Orthanc over its REST API; seconds."""
    started = time.perf_counter()
    with orthanc.rest() as client:
        for path in sorted(archive.rglob("*.dcm")):
            client.post("/instances", content=path.read_bytes()).raise_for_status()
    return time.perf_counter() - started


def timed_index(source, library: Path, model_dir: Path, **options) -> dict:  # noqa: ANN001
    shutil.rmtree(library, ignore_errors=True)
    started = time.perf_counter()
    summary = index(source, library, model_dir, progress=False, **options)
    seconds = time.perf_counter() - started
    print(f"    {summary}")
    return {"images": summary.added, "seconds": seconds}


def latencies(call, clients: int, queries: int) -> list[float]:  # noqa: ANN001
    """Per-request seconds with `clients` threads each sending its share of `queries`."""
    def one(n: int) -> float:
        started = time.perf_counter()
        call(QUERIES[n % len(QUERIES)])
        return time.perf_counter() - started
    call(QUERIES[0])  # warm: first-call costs (tokenizer, FAISS pages) are not what a user waits for
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, range(queries)))


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1] if len(values) > 1 \
        else values[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--queries", type=int, default=48, help="requests per concurrency level")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="radsearch-dicomweb-bench-"))
    archive = workdir / f"archive-{args.files}-{args.size}"
    make_archive(archive, args.files, args.size)
    model_dir = make_model(workdir / "model-tiny", "tiny")
    orthanc, process = start(workdir / "orthanc")
    try:
        print(f"uploaded {args.files} files to Orthanc in {upload(orthanc, archive):.1f} s")
        credentials = PacsCredentials(orthanc.user, orthanc.password)
        local = timed_index(archive, workdir / "lib-folder", model_dir)
        remote = timed_index(f"dicomweb+{orthanc.dicomweb}", workdir / "lib-pacs", model_dir, credentials=credentials)
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"\n## Indexing {args.files} DICOM files ({args.size}x{args.size}, half JPEG-LS), tiny preset\n")
    print("| source | images | seconds | images/s |")
    print("|---|---:|---:|---:|")
    for name, run in (("local folder", local), ("Orthanc over DICOMweb (QIDO-RS + WADO-RS)", remote)):
        print(f"| {name} | {run['images']} | {run['seconds']:.1f} | {run['images'] / run['seconds']:.1f} |")

    library = workdir / "lib-folder"
    lib = open_library(library)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "radsearch.cli", "serve", "--library", str(library),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        http = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=32))
        rows = []
        for clients in (1, 4, 16):
            python = latencies(lambda q: lib.search.text(q, k=10), clients, args.queries)
            rest = latencies(lambda q: http.post(f"{base}/search", json={"text": q, "k": 10}).raise_for_status(),
                             clients, args.queries)
            rows.append((clients, python, rest))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\n## Text search, k=10, {args.files}-image library: {args.queries} requests per row\n")
    print("| clients | Python API p50 ms | p95 ms | REST API p50 ms | p95 ms | REST overhead at p50 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for clients, python, rest in rows:
        p50, p95 = percentile(python, 0.5) * 1000, percentile(python, 0.95) * 1000
        r50, r95 = percentile(rest, 0.5) * 1000, percentile(rest, 0.95) * 1000
        print(f"| {clients} | {p50:.1f} | {p95:.1f} | {r50:.1f} | {r95:.1f} | {r50 - p50:+.1f} ms |")


if __name__ == "__main__":
    main()
