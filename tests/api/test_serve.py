"""`radsearch serve` is a real HTTP server with the UI's exposure rule."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

import httpx
from click.testing import CliRunner

from radsearch.access import add_user
from radsearch.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serving_beyond_loopback_without_users_is_refused(tiny_library):
    result = CliRunner().invoke(main, ["serve", "--library", str(tiny_library), "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "refusing to serve on 0.0.0.0 without authentication" in result.output


def test_radsearch_serve_answers_http_clients_with_tokens(tiny_library, tmp_path):
    library = shutil.copytree(tiny_library, tmp_path / "library")
    users = tmp_path / "users.toml"
    token = add_user(users, "bob")
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "radsearch.cli", "serve", "--library", str(library),
                                "--port", str(port), "--users", str(users)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        assert httpx.post(f"{base}/search", json={"text": "nodule"}).status_code == 401
        answer = httpx.post(f"{base}/search", json={"text": "nodule", "k": 3},
                            headers={"Authorization": f"Bearer bob:{token}"}, timeout=30)
        assert answer.status_code == 200 and len(answer.json()["results"]) == 3
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert token not in output  # credentials never reach the log
