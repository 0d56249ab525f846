"""Serving the UI: `radsearch ui` runs Streamlit on app.py in a child process and stays its parent.

The child dies with its parent: SIGTERM, SIGHUP and SIGINT sent to `radsearch ui` are passed on, and on
Linux the kernel sends the child SIGTERM if the parent is killed outright (PR_SET_PDEATHSIG), so no
orphaned server keeps the port after the command is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

from ..access import USERS_ENV, upload_limit_mb

APP = Path(__file__).parent / "app.py"
CONFIG = Path(__file__).parent / "streamlit.toml"
THEMES = ("dark", "light")
PR_SET_PDEATHSIG = 1  # linux/prctl.h
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
STOP_TIMEOUT_S = 10  # how long the child may take to stop before it is killed


def streamlit_options(theme: str = "dark") -> dict[str, str]:
    """The app's own Streamlit configuration (ui/streamlit.toml) as option -> value; theme "light" swaps the
    dark palette for Streamlit's light one."""
    if theme not in THEMES:
        raise ValueError(f"theme is one of {', '.join(THEMES)}, not {theme!r}")
    with open(CONFIG, "rb") as fh:
        config = tomllib.load(fh)
    if theme == "light":
        config["theme"] = {"base": "light", "primaryColor": config["theme"]["primaryColor"]}
    return {f"{section}.{key}": str(value).lower() if isinstance(value, bool) else str(value)
            for section, values in config.items() for key, value in values.items()}


def streamlit_command(library: Path, host: str, port: int, theme: str = "dark") -> list[str]:
    options = streamlit_options(theme) | {
        "server.address": host, "server.port": str(port),
        "server.maxUploadSize": str(max(1, round(upload_limit_mb()))),  # larger bodies are refused unread
    }
    flags = [part for name, value in options.items() for part in (f"--{name}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(APP), *flags, "--", "--library", str(Path(library).resolve())]


def _die_with_parent() -> None:
    """In the child, before exec: have the kernel send SIGTERM when the parent process dies."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def serve(library: Path, host: str, port: int, users_file: Path | None = None,
          echo: Callable[[str], None] = print, theme: str = "dark") -> int:
    """Run the UI until it stops or this process is told to stop; returns Streamlit's exit status.

    The one line printed is the URL: Streamlit's own banner (its stdout) is dropped, and its log is kept to
    errors, which still reach this terminal on stderr."""
    env = dict(os.environ)
    env.pop(USERS_ENV, None)
    if users_file:
        env[USERS_ENV] = str(Path(users_file).resolve())
    echo(f"radsearch UI on http://{host}:{port}" + (" (sign-in required)" if users_file else "") + "  (Ctrl-C to stop)")
    child = subprocess.Popen(streamlit_command(library, host, port, theme), env=env, stdout=subprocess.DEVNULL,
                             preexec_fn=_die_with_parent if sys.platform == "linux" else None)

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
