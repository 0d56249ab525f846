"""Indexing from a PACS over DICOMweb: QIDO-RS finds studies, WADO-RS fetches what the library lacks,
and the fetched files go through the same pipeline as a folder's, a few studies at a time.

Fetched instances are kept under LIB/pacs/HOST_PORT/STUDY/SERIES/SOP.dcm: the library needs the pixels
again (previews, curation, heads' maps), as it needs a folder archive's files. Instances whose SOP
Instance UID is already indexed are not downloaded; a file fetched before an interruption is indexed
from the cache instead of fetched again. `since="last"` continues from the last finished sync of the
same URL (LIB/pacs/sync.json).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from ..files import atomic_path, atomic_write_bytes
from ..models import Encoder
from ..pacs import DicomWeb, InstanceRef, PacsCredentials, PacsError
from ..pacs.dicomweb import service_url
from ..storage import LibraryStore
from .pipeline import BATCH_SIZE, IndexSummary, index_files

log = logging.getLogger(__name__)

CHUNK = 256  # instances fetched before they are indexed (whole studies stay together)
FETCH_THREADS = 4  # instances fetched at once (benchmarks/dicomweb.py)
CACHE_DIR = "pacs"
SYNC_FILE = "sync.json"
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def index_dicomweb(store: LibraryStore, encoder: Encoder, source: str, *, modalities: Sequence[str] = (),
                   since: str = "", until: str = "", body_parts: Sequence[str] = (),
                   credentials: PacsCredentials | None = None, batch_size: int = BATCH_SIZE, progress: bool = True,
                   workers: int | None = None) -> IndexSummary:
    """Fetch the matching instances the library lacks and index them; safe to interrupt and re-run.

    since / until: study dates (YYYY-MM-DD or YYYYMMDD); since="last" is the date of the last finished
    sync of this URL (studies of that day are listed again; those already indexed are skipped).
    """
    began = time.time()
    pacs = DicomWeb(source, credentials)
    sync_path = store.root / CACHE_DIR / SYNC_FILE
    first = _dicom_date(_last_sync(sync_path, pacs.url) if since == "last" else since)
    started = dt.datetime.now(dt.UTC).date().isoformat()
    studies = pacs.studies(modalities, first, _dicom_date(until))
    summary = IndexSummary()
    summary.pacs["studies"] = len(studies)
    cache = store.root / CACHE_DIR / _host_folder(pacs.url)
    pending: list[Path] = []
    bar = tqdm(total=len(studies), desc="PACS", unit="study", disable=not progress)
    for study_uid, _ in studies:
        refs = pacs.instances(study_uid, body_parts)
        known = store.catalog.known_instances(ref.sop_uid for ref in refs)
        summary.pacs["instances listed"] += len(refs)
        summary.pacs["already indexed (not fetched)"] += len(known)
        wanted = [(ref, _cache_path(cache, ref)) for ref in refs if ref.sop_uid not in known]
        missing = [(ref, path) for ref, path in wanted if not path.is_file()]
        with ThreadPoolExecutor(FETCH_THREADS) as pool:  # WADO-RS round trips overlap; the PACS serves several
            fetched = dict(zip([path for _, path in missing],
                               pool.map(lambda pair: _fetch(pacs, pair[0], pair[1]), missing)))
        for ref, path in wanted:
            error = fetched.get(path)
            if error is None:
                pending.append(path)
            else:
                log.warning("%s", error)
                store.catalog.record_failure(f"{pacs.url} {ref.sop_uid}", f"could not be retrieved: {error}")
                summary.pacs["could not be retrieved"] += 1
                summary.failed += 1
                summary.failures["could not be retrieved"] += 1
        summary.pacs["fetched"] += sum(error is None for error in fetched.values())
        if len(pending) >= CHUNK:
            summary.absorb(index_files(store, encoder, pending, batch_size, progress=False, workers=workers))
            pending = []
        bar.update(1)
    bar.close()
    if pending:
        summary.absorb(index_files(store, encoder, pending, batch_size, progress=False, workers=workers))
    _record_sync(sync_path, pacs.url, started)
    summary.seconds = time.time() - began
    return summary


def _fetch(pacs: DicomWeb, ref: InstanceRef, path: Path) -> PacsError | None:
    """Fetch one instance into the cache; its error, to be recorded while the sync goes on, or None."""
    try:
        dataset = pacs.retrieve(ref)
    except PacsError as e:
        return e
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:  # never a half-written file where the next run would find it
        dataset.save_as(tmp, enforce_file_format=True)
    return None


def _cache_path(cache: Path, ref: InstanceRef) -> Path:
    """Where a fetched instance is kept; UIDs from the PACS are checked before they become path parts."""
    parts = [ref.study_uid, ref.series_uid, ref.sop_uid]
    if not all(_UID.match(part) and len(part) <= 64 for part in parts):
        raise PacsError(f"the PACS returned an invalid UID among {parts}; refusing to use it as a file name")
    return cache / parts[0] / parts[1] / f"{parts[2]}.dcm"


def _host_folder(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}_{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _dicom_date(text: str) -> str:
    """YYYY-MM-DD or YYYYMMDD -> YYYYMMDD ('' stays '')."""
    if not text:
        return ""
    digits = text.replace("-", "")
    try:
        dt.datetime.strptime(digits, "%Y%m%d")
    except ValueError:
        raise ValueError(f"study date {text!r}: write YYYY-MM-DD (or 'last' for --since)") from None
    return digits


def _last_sync(path: Path, url: str) -> str:
    state = json.loads(path.read_text()) if path.is_file() else {}
    if url not in state:
        raise PacsError(f"no finished sync of {url} is recorded in {path}; run once without --since last, or give "
                        "--since YYYY-MM-DD")
    return state[url]["last_sync"]


def _record_sync(path: Path, url: str, day: str) -> None:
    state = json.loads(path.read_text()) if path.is_file() else {}
    state[url] = {"last_sync": day}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(state, indent=2).encode())


def describe_source(source: str) -> str:
    """How the run log names a PACS source (the service URL, never credentials)."""
    return f"dicomweb {service_url(source)}"
