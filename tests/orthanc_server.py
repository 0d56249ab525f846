"""A private Orthanc PACS for the tests: Debian's `orthanc` with its DICOMweb plugin, on loopback.

    eval "$(python3 tests/orthanc_server.py start DIR)"   # .ci/run: starts it and exports RADSEARCH_TEST_ORTHANC*

The launcher needs only the standard library, so .ci/run can start Orthanc before radsearch is installed.

Its own storage under DIR, free HTTP and DICOM ports, HTTP basic authentication (so a 401 can be tested),
and one known DICOM peer, RADSEARCH at 127.0.0.1:RADSEARCH_TEST_LISTENER_PORT, for pushes to a listener.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path

BINARY = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc/plugins")
USER, PASSWORD = "radsearch", "pacs-test-secret"
ENV = "RADSEARCH_TEST_ORTHANC"  # its HTTP root; the other facts in ENV_* below


@dataclass
class Orthanc:
    url: str  # http://127.0.0.1:PORT
    dicom_port: int
    aet: str = "ORTHANC"
    listener_port: int = 0  # where Orthanc expects the RADSEARCH peer
    user: str = USER
    password: str = PASSWORD

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def rest(self):  # noqa: ANN201 - an httpx.Client (imported here: .ci/run starts Orthanc before installing)
        import httpx
        return httpx.Client(base_url=self.url, auth=(self.user, self.password), timeout=30)

    def answers(self) -> bool:
        request = urllib.request.Request(f"{self.url}/system", headers={
            "Authorization": "Basic " + b64encode(f"{self.user}:{self.password}".encode()).decode()})
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def clear(self) -> None:
        """Delete every study: each test starts with an empty PACS."""
        with self.rest() as client:
            for study in client.get("/studies").json():
                client.delete(f"/studies/{study}")

    def exports(self) -> str:
        return "\n".join([f"export {ENV}={self.url}", f"export {ENV}_DICOM_PORT={self.dicom_port}",
                          f"export {ENV}_LISTENER_PORT={self.listener_port}"])


def from_environment() -> Orthanc | None:
    if not os.environ.get(ENV):
        return None
    return Orthanc(os.environ[ENV], int(os.environ[f"{ENV}_DICOM_PORT"]),
                   listener_port=int(os.environ.get(f"{ENV}_LISTENER_PORT", "0")))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plugin() -> str | None:
    for folder in PLUGIN_DIRS:
        path = Path(folder) / "libOrthancDicomWeb.so"
        if path.is_file():
            return str(path)
    return None


def start(workdir: Path, detach: bool = False) -> tuple[Orthanc, subprocess.Popen]:
    """Start Orthanc in `workdir`; raises RuntimeError with the reason when it cannot."""
    if not Path(BINARY).is_file():
        raise RuntimeError("Orthanc is not installed (Debian: apt-get install orthanc orthanc-dicomweb)")
    if plugin() is None:
        raise RuntimeError("the Orthanc DICOMweb plugin is not installed (Debian: apt-get install orthanc-dicomweb)")
    workdir.mkdir(parents=True, exist_ok=True)
    http, dicom, listener = free_port(), free_port(), free_port()
    config = {"Name": "radsearch-test", "StorageDirectory": str(workdir / "storage"),
              "IndexDirectory": str(workdir / "index"), "HttpPort": http, "DicomPort": dicom, "DicomAet": "ORTHANC",
              "RemoteAccessAllowed": False, "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD},
              "Plugins": [plugin()], "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "Host": "127.0.0.1"},
              "DicomModalities": {"radsearch": ["RADSEARCH", "127.0.0.1", listener]},
              "DicomCheckCalledAet": False, "StableAge": 1, "HttpTimeout": 60, "LogExportedResources": False}
    (workdir / "orthanc.json").write_text(json.dumps(config, indent=2))
    log = open(workdir / "orthanc.log", "wb")
    process = subprocess.Popen([BINARY, str(workdir / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=detach)
    server = Orthanc(f"http://127.0.0.1:{http}", dicom, listener_port=listener)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited with status {process.returncode}; see {workdir / 'orthanc.log'}")
        if server.answers():
            return server, process
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"Orthanc did not answer within 30 s; see {workdir / 'orthanc.log'}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "start":
        sys.exit("usage: python tests/orthanc_server.py start DIR")
    try:
        orthanc, _ = start(Path(sys.argv[2]), detach=True)
    except RuntimeError as e:
        print(f"echo 'Orthanc could not be started: {e}; its tests will be skipped' >&2")
        sys.exit(0)
    print(orthanc.exports())
