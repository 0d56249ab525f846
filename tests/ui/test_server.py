"""`radsearch ui` runs Streamlit as its child: stopping the command stops the server, however it is stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(condition, seconds: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["TERM", "INT", "KILL"])
def test_stopping_radsearch_ui_stops_its_streamlit_server(tiny_library, stop):
    port = _free_port()
    command = [sys.executable, "-m", "radsearch.cli", "ui", "--library", str(tiny_library), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert _wait(lambda: _listening(port), 90), "the UI never started listening"
        os.kill(process.pid, stop)  # the command only, as `kill PID` or a service manager does
        process.wait(timeout=30)
        assert _wait(lambda: not _listening(port), 30), f"port {port} is still served after {stop.name}"
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group, so a failure leaks nothing
        except ProcessLookupError:
            pass


def test_the_app_starts_dark_without_developer_chrome_and_light_on_request(tiny_library):
    from radsearch.ui.server import streamlit_command

    def option(command: list[str], name: str) -> str | None:
        return command[command.index(name) + 1] if name in command else None
    dark = streamlit_command(tiny_library, "127.0.0.1", 8599)
    assert option(dark, "--theme.base") == "dark" and option(dark, "--theme.backgroundColor")
    assert option(dark, "--client.toolbarMode") == "viewer"  # no Deploy button or developer menu
    assert option(dark, "--logger.level") == "error"  # no framework warnings in the terminal
    light = streamlit_command(tiny_library, "127.0.0.1", 8599, theme="light")
    assert option(light, "--theme.base") == "light" and option(light, "--theme.backgroundColor") is None
    with pytest.raises(ValueError, match="theme is one of dark, light"):
        streamlit_command(tiny_library, "127.0.0.1", 8599, theme="sepia")
