"""`radsearch listen`: a PACS or a modality pushes with C-STORE, and what arrives is kept and indexed."""

from __future__ import annotations

import errno
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from pynetdicom import AE
from sr_documents import basic_text_sr, header

from radsearch import index, open_library
from radsearch.cli import main
from radsearch.pacs import listener
from radsearch.pacs.listener import Receiver


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _push(port: int, paths, calling: str = "MODALITY") -> list[int]:
    """Send files as a modality would; the statuses the receiver answered."""
    ae = AE(ae_title=calling)
    offered = set()
    for path in paths:  # each file's SOP class in the transfer syntax it is stored in, as a modality offers it
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        offered.add((ds.SOPClassUID, ds.file_meta.TransferSyntaxUID))
    for sop_class, syntax in sorted(offered):
        ae.add_requested_context(sop_class, [syntax])
    assoc = ae.associate("127.0.0.1", port, ae_title="RADSEARCH")
    if not assoc.is_established:
        return []
    try:
        return [int(assoc.send_c_store(pydicom.dcmread(path)).Status) for path in paths]
    finally:
        assoc.release()


@pytest.fixture()
def library(tiny_archive, tiny_model, tmp_path) -> Path:
    """An existing library (one image indexed) that pushes add to."""
    first = sorted((tiny_archive / "images").rglob("*.png"))[0]
    index(first, tmp_path / "lib", tiny_model, progress=False)
    return tmp_path / "lib"


def test_pushed_instances_are_kept_as_sent_and_indexed(library, tiny_archive, shared_dicoms, tmp_path):
    lib = open_library(library)
    before = lib.count()
    dicoms = sorted((tiny_archive / "images").rglob("*.dcm"))[:3]
    sr = basic_text_sr(tmp_path / "sr.dcm", header(dicoms[0]), [], ["Cardiomegaly."])
    compressed = shared_dicoms / "RG2_JLSL.dcm"  # JPEG-LS lossless: must arrive compressed, bit for bit
    port = _free_port()
    receiver = Receiver(tmp_path / "received", lambda paths: lib.index(paths, progress=False, workers=0),
                        batch_wait_s=0.5)
    receiver.start("127.0.0.1", port)
    try:
        assert _push(port, [*dicoms, compressed, sr]) == [0x0000] * 5
    finally:
        receiver.stop()  # indexes what is pending before it returns
    assert lib.count() == before + 4 and receiver.received == 5
    kept = next((tmp_path / "received").rglob(f"{pydicom.dcmread(compressed).SOPInstanceUID}.dcm"))
    assert pydicom.dcmread(kept).PixelData == pydicom.dcmread(compressed).PixelData
    (study_image, *_) = lib.find_dicom(study_uid=header(dicoms[0]).StudyInstanceUID)
    assert lib.image(study_image).report == "IMPRESSION: Cardiomegaly."


def test_a_bad_instance_or_a_full_disk_is_refused_and_nothing_received_is_lost(library, tiny_archive, tmp_path,
                                                                             monkeypatch):
    lib = open_library(library)
    good, other = sorted((tiny_archive / "images").rglob("*.dcm"))[:2]
    no_study = pydicom.dcmread(other)
    del no_study.StudyInstanceUID
    no_study.save_as(tmp_path / "no-study.dcm")
    port = _free_port()
    receiver = Receiver(tmp_path / "received", lambda paths: lib.index(paths, progress=False, workers=0),
                        batch_wait_s=0.5)
    receiver.start("127.0.0.1", port)
    try:
        assert _push(port, [good, tmp_path / "no-study.dcm"]) == [0x0000, 0xC000]

        def full(_path, *_args, **_kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(listener, "atomic_path", full)
        assert _push(port, [other]) == [0xA700]  # Out of Resources: the sender keeps it and retries
    finally:
        receiver.stop()
    assert receiver.refused == 2
    def indexed(path: Path) -> bool:
        return bool(lib.find_dicom(sop_uid=pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID))
    assert indexed(good) and not indexed(other)


def test_only_allowed_callers_may_push(library, tiny_archive, tmp_path):
    port = _free_port()
    receiver = Receiver(tmp_path / "received", lambda paths: None, allowed=["ORTHANC"])
    receiver.start("127.0.0.1", port)
    try:
        assert _push(port, sorted((tiny_archive / "images").rglob("*.dcm"))[:1], calling="STRANGER") == []
    finally:
        receiver.stop()
    refused = CliRunner().invoke(main, ["listen", "--library", str(library), "--host", "0.0.0.0"])
    assert refused.exit_code == 1 and "--allow-ae" in refused.output


def test_orthanc_pushes_a_study_to_radsearch_listen(pacs, library, shared_dicoms, tmp_path):
    with pacs.rest() as client:
        answer = client.post("/instances", content=(shared_dicoms / "966_fixed.dcm").read_bytes()).json()
    command = [sys.executable, "-m", "radsearch.cli", "listen", "--library", str(library), "--port",
               str(pacs.listener_port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        pushed = None
        while time.monotonic() < deadline and pushed is None:
            with pacs.rest() as client:  # C-STORE from Orthanc to the RADSEARCH peer it knows
                sent = client.post("/modalities/radsearch/store", json={"Resources": [answer["ParentStudy"]],
                                                                        "Synchronous": True})
            if sent.status_code == 200:
                pushed = sent
            else:
                time.sleep(0.5)  # the listener is still starting
        assert pushed is not None, "Orthanc could not push to radsearch listen"
        wanted = pydicom.dcmread(shared_dicoms / "966_fixed.dcm", stop_before_pixels=True).SOPInstanceUID
        while time.monotonic() < deadline and not open_library(library).find_dicom(sop_uid=wanted):
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert open_library(library).find_dicom(sop_uid=wanted), output
    assert "received 1 instances, refused 0" in output
    shutil.rmtree(tmp_path / "lib" / "received")
