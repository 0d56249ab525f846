"""A DICOM C-STORE receiver (`radsearch listen`) that a PACS or a modality can push to, built on pynetdicom.

Each received instance is written to the archive folder (ARCHIVE/STUDY/SERIES/SOP.dcm, atomically, in
its transfer syntax as sent) before the sender hears "success", so a crash after the answer loses
nothing. Received files are handed to `on_batch` a batch at a time (radsearch listen indexes them) from
one background thread, when enough have arrived or a few seconds after the last. A full disk answers
the sender Out of Resources (0xA700), an instance without the UIDs that place it answers Cannot
Understand (0xC000); either way nothing already received is touched. Associations and every
instance's status are logged.
"""

from __future__ import annotations

import errno
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path

from pydicom.dataset import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

from ..files import atomic_path

log = logging.getLogger(__name__)

SUCCESS, OUT_OF_RESOURCES, CANNOT_UNDERSTAND = 0x0000, 0xA700, 0xC000
BATCH_FILES = 64  # received files indexed together
BATCH_WAIT_S = 5.0  # how long after the last arrival a partial batch waits
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


class Receiver:
    """Receives instances into `archive` and passes them to `on_batch(paths)`; start() / stop()."""

    def __init__(self, archive: str | Path, on_batch: Callable[[list[Path]], None], ae_title: str = "RADSEARCH",
                 allowed: list[str] | None = None, batch_files: int = BATCH_FILES,
                 batch_wait_s: float = BATCH_WAIT_S) -> None:
        self.archive = Path(archive)
        self.allowed = list(allowed or [])  # calling AE titles that may push; empty = any (loopback only)
        self.on_batch = on_batch
        self.ae_title = ae_title
        self.batch_files, self.batch_wait_s = batch_files, batch_wait_s
        self.received = 0
        self.refused = 0
        self._pending: list[Path] = []
        self._wake = threading.Condition()
        self._stopping = False
        self._server = None
        self._indexer: threading.Thread | None = None

    # -- network -----------------------------------------------------------------------------------
    def start(self, host: str = "0.0.0.0", port: int = 11112) -> None:
        """Listen for associations (in pynetdicom's threads) and start the indexing thread."""
        ae = AE(ae_title=self.ae_title)
        ae.require_calling_aet = self.allowed
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)  # compressed too: kept as sent
        ae.add_supported_context(Verification)  # C-ECHO, what a PACS administrator tries first
        handlers = [(evt.EVT_C_STORE, self.handle_store), (evt.EVT_ACCEPTED, _logged("accepted")),
                    (evt.EVT_RELEASED, _logged("released")), (evt.EVT_ABORTED, _logged("aborted")),
                    (evt.EVT_REJECTED, _logged("rejected"))]
        self._indexer = threading.Thread(target=self._index_loop, name="radsearch-listen-index", daemon=True)
        self._indexer.start()
        self._server = ae.start_server((host, port), block=False, evt_handlers=handlers)
        log.warning("listening for DICOM C-STORE as %s on %s:%d; received files go to %s", self.ae_title, host, port,
                    self.archive)

    def stop(self) -> None:
        """Stop listening, then index what is still pending before returning."""
        if self._server is not None:
            self._server.shutdown()
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._indexer is not None:
            self._indexer.join()

    # -- one instance ------------------------------------------------------------------------------
    def handle_store(self, event: evt.Event) -> int:
        """Write one received instance; the status is what the sender is told."""
        peer = _peer(event)
        try:
            dataset: Dataset = event.dataset
            dataset.file_meta = event.file_meta
        except Exception as e:  # noqa: BLE001 - an undecodable dataset is the sender's problem, said to it
            return self._refuse(peer, "?", CANNOT_UNDERSTAND, f"the dataset cannot be decoded ({e})")
        sop = str(dataset.get("SOPInstanceUID", ""))
        parts = [str(dataset.get("StudyInstanceUID", "")), str(dataset.get("SeriesInstanceUID", "")), sop]
        if not all(_UID.match(part) and len(part) <= 64 for part in parts):
            return self._refuse(peer, sop or "?", CANNOT_UNDERSTAND,
                                "it lacks a valid Study, Series or SOP Instance UID to file it under")
        path = self.archive / parts[0] / parts[1] / f"{parts[2]}.dcm"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                dataset.save_as(tmp, enforce_file_format=True)
        except OSError as e:
            status = OUT_OF_RESOURCES if e.errno in (errno.ENOSPC, errno.EDQUOT) else CANNOT_UNDERSTAND
            return self._refuse(peer, sop, status, f"it could not be written to {self.archive} ({e.strerror or e})")
        log.info("stored %s from %s", sop, peer)
        with self._wake:
            self.received += 1
            self._pending.append(path)
            self._wake.notify()
        return SUCCESS

    def _refuse(self, peer: str, sop: str, status: int, why: str) -> int:
        log.warning("refused instance %s from %s (status 0x%04X): %s", sop, peer, status, why)
        self.refused += 1
        return status

    # -- indexing ----------------------------------------------------------------------------------
    def _index_loop(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and len(self._pending) < self.batch_files:
                    before = len(self._pending)
                    self._wake.wait(self.batch_wait_s if before else None)
                    if self._pending and len(self._pending) == before:
                        break  # nothing new for batch_wait_s: index the partial batch
                batch, self._pending = self._pending, []
                stopping = self._stopping
            if batch:
                try:
                    self.on_batch(batch)
                except Exception:  # noqa: BLE001 - the files are on disk; the next batch or run indexes them
                    log.exception("indexing %d received files failed; they stay in %s and are indexed again with "
                                  "the next batch", len(batch), self.archive)
                    with self._wake:
                        self._pending = batch + self._pending
                    if stopping:
                        return
            if stopping:
                with self._wake:
                    if not self._pending:
                        return


def _peer(event: evt.Event) -> str:
    requestor = event.assoc.requestor
    return f"{requestor.ae_title}@{requestor.address}:{requestor.port}"


def _logged(what: str) -> Callable[[evt.Event], None]:
    def handler(event: evt.Event) -> None:
        log.info("association %s: %s", what, _peer(event))
    return handler
