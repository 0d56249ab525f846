"""Embedding on a Ray cluster (`radsearch index --ray ADDRESS`); the catalog is still written here.

Ray Data takes the list of new files through two `map_batches` stages: decoding in CPU tasks
spread over the cluster, then embedding in an actor pool (one encoder per actor, on the actor's GPU
when the cluster has GPUs). This process receives the vectors and commits them batch by batch
exactly as a local run does, so crash safety, incremental runs and the library format are the same.
Workers must see the archive and the library's model directory at the same paths (shared storage).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..datasets.dicom_sr import SRReport
from ..errors import RadsearchError, UnreadableImage
from ..imaging import PreprocessProfile
from ..storage import LibraryStore
from .prepare import EmbeddedBatch, OtherDocument, PreparedFrame, timed_prepare
from .scan import ScanItem

log = logging.getLogger(__name__)

LOCAL = "local"  # start a Ray instance on this machine


def decode_files(batch: dict[str, np.ndarray], profile: dict, preview_side: int) -> dict[str, np.ndarray]:
    """Ray Data stage 1 (CPU tasks): files -> one row per frame with encoder input, facts and preview."""
    shape = (int(profile.get("channels", 1)), int(profile["size"]), int(profile["size"]))
    out: dict[str, list] = {k: [] for k in ("position", "frames", "error", "document", "decode_seconds",
                                            "metadata", "height", "width", "preview", "pixels")}
    for position, path in zip(batch["position"], batch["path"]):
        result, seconds = timed_prepare(Path(str(path)), PreprocessProfile.from_dict(profile), preview_side)
        document = result if isinstance(result, (SRReport, OtherDocument)) else None
        frames = [None] if isinstance(result, UnreadableImage) or document else result
        for frame in frames:
            out["position"].append(int(position))
            out["frames"].append(len(frames))
            out["error"].append(result.reason if isinstance(result, UnreadableImage) else
                                "a document, not an image" if document else "")  # not embedded
            out["document"].append(json.dumps({"type": type(document).__name__, **dataclasses.asdict(document)})
                                   if document else "")
            out["decode_seconds"].append(seconds)
            out["metadata"].append(json.dumps(frame.metadata, default=str) if frame else "{}")
            out["height"].append(frame.shape[0] if frame else 0)
            out["width"].append(frame.shape[1] if frame else 0)
            out["preview"].append(frame.preview if frame else b"")
            out["pixels"].append(frame.pixels if frame else np.zeros(shape, np.float32))
            seconds = 0.0  # a file's decode time is counted once
    return {key: np.stack(values) if key == "pixels" else np.array(values, dtype=object)
            for key, values in out.items()}


class EmbedOnWorker:
    """Ray Data stage 2 (actors): loads the encoder once, on the actor's GPU when it has one."""

    def __init__(self, model_dir: str, precision: str) -> None:
        import torch

        from ..models import load_encoder, set_precision
        self.model = load_encoder(model_dir)
        if torch.cuda.is_available() and hasattr(self.model, "to"):
            self.model.to("cuda")
        set_precision(self.model, precision)  # the library's, resolved for this actor's device

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        pixels = batch.pop("pixels")
        ok = np.array([not error for error in batch["error"]], dtype=bool)
        vectors = np.zeros((len(ok), self.model.embed_dim), np.float32)
        if ok.any():
            vectors[ok] = self.model.encode_image(pixels[ok])
        batch["vector"] = vectors
        return batch


def ray_batches(todo: list[ScanItem], store: LibraryStore, batch_size: int, address: str,
                actors: int | None = None) -> Iterator[EmbeddedBatch]:
    """Batches computed on a Ray cluster, whole files per batch, in any order."""
    ray = _ray()
    if not todo:
        return
    if not ray.is_initialized():
        ray.init(address=None if address == LOCAL else address, include_dashboard=False, log_to_driver=False)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    actors = actors or max(1, gpus or int(ray.cluster_resources().get("CPU", 1)) // 4)  # the rest decode
    log.info("embedding %d files on Ray (%d actors, %d GPUs)", len(todo), actors, gpus)
    dataset = ray.data.from_items([{"position": n, "path": str(item.path)} for n, item in enumerate(todo)])
    decoded = dataset.map_batches(decode_files, fn_args=(store.config.profile, store.config.thumbnail_size),
                                  batch_size=batch_size, batch_format="numpy", udf_modifying_row_count=True)
    embedded = decoded.map_batches(EmbedOnWorker, fn_constructor_args=(str(store.model_path), store.config.precision),
                                   batch_size=batch_size, concurrency=actors, num_gpus=1 if gpus else 0,
                                   batch_format="numpy")
    pending: dict[int, list[dict]] = {}
    ready: list[int] = []
    for columns in embedded.iter_batches(batch_size=batch_size, batch_format="numpy"):
        for n in range(len(columns["position"])):
            row = {key: columns[key][n] for key in columns}
            rows = pending.setdefault(int(row["position"]), [])
            rows.append(row)
            if len(rows) == int(row["frames"]):  # every frame of the file has arrived
                ready.append(int(row["position"]))
        if len(ready) >= batch_size:
            yield _batch(todo, pending, ready, store.config.embed_dim)
            ready = []
    if ready:
        yield _batch(todo, pending, ready, store.config.embed_dim)
    if pending:
        raise RadsearchError(f"Ray returned incomplete results for {len(pending)} files; re-run to index them")


def _batch(todo: list[ScanItem], pending: dict[int, list[dict]], ready: list[int], dim: int) -> EmbeddedBatch:
    frames, vectors, failures, documents, seconds = [], [], [], [], 0.0
    for position in ready:
        rows = pending.pop(position)
        item = todo[position]
        seconds += sum(float(row["decode_seconds"]) for row in rows)
        if rows[0]["document"]:
            fields = json.loads(str(rows[0]["document"]))
            kind = {"SRReport": SRReport, "OtherDocument": OtherDocument}[fields.pop("type")]
            documents.append((item, kind(**fields)))
            continue
        if rows[0]["error"]:
            failures.append((item, UnreadableImage(item.path, str(rows[0]["error"]))))
            continue
        for row in sorted(rows, key=lambda r: json.loads(r["metadata"]).get("frame") or 0):
            frame = PreparedFrame(json.loads(row["metadata"]), (int(row["height"]), int(row["width"])),
                                  np.zeros(0, np.float32), bytes(row["preview"]))
            frames.append((item, frame))
            vectors.append(np.asarray(row["vector"], dtype=np.float32))
    matrix = np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)
    return EmbeddedBatch(frames, matrix, failures, len(ready), decode_seconds=seconds, documents=documents)


def _ray():  # noqa: ANN202
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise RadsearchError("--ray needs Ray: pip install 'radsearch[ray]' (and the same on every worker)") from e
    return ray
