"""Who is calling the REST API: bearer tokens from the same users file as the UI (radsearch.access).

A request says `Authorization: Bearer NAME:TOKEN` (or HTTP Basic with the name and token). Checking a
token costs ~50 ms of scrypt by design, so a login that succeeded is remembered for a minute, keyed by
a hash of what was sent, and forgotten at once when the users file changes (a revoked token stops
working on its next request).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from pathlib import Path

from ..access import authenticate
from ..errors import AccessDenied

REMEMBER_S = 60.0  # how long a checked token is trusted without scrypt


class NotSignedIn(AccessDenied):
    """No credentials, or ones that do not match the users file (HTTP 401)."""


class TokenChecker:
    """Turns an Authorization header into the caller's name, or refuses it."""

    def __init__(self, users_file: str | Path | None) -> None:
        self.users_file = Path(users_file) if users_file else None
        self._known: dict[str, tuple[str, float]] = {}  # sha256 of the credentials -> (name, checked at)
        self._version: tuple[int, int] | None = None
        self._lock = threading.Lock()

    @property
    def required(self) -> bool:
        return self.users_file is not None

    def user(self, authorization: str | None) -> str | None:
        """The signed-in name; None when no users file is in force (loopback, the OS account is the user)."""
        if self.users_file is None:
            return None
        name, token = _credentials(authorization)
        key = hashlib.sha256(f"{name}\0{token}".encode()).hexdigest()
        with self._lock:
            self._forget_if_changed()
            remembered = self._known.get(key)
            if remembered and time.monotonic() - remembered[1] < REMEMBER_S:
                return remembered[0]
        if not authenticate(self.users_file, name, token):
            raise NotSignedIn("the token does not match the users file; ask for a new one (`radsearch users add`)")
        with self._lock:
            self._known[key] = (name, time.monotonic())
        return name

    def _forget_if_changed(self) -> None:
        try:
            stat = self.users_file.stat()
            version = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            version = None
        if version != self._version:
            self._known.clear()
            self._version = version


def _credentials(authorization: str | None) -> tuple[str, str]:
    """(name, token) from `Bearer NAME:TOKEN` or `Basic base64(NAME:TOKEN)`."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            value = ""
    elif scheme.lower() != "bearer":
        value = ""
    name, sep, token = value.partition(":")
    if not sep or not name or not token:
        raise NotSignedIn("sign in: send `Authorization: Bearer NAME:TOKEN` with a token from `radsearch users add`")
    return name, token
