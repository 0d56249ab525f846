"""Who may use a served radsearch: a users file of per-person access tokens (kept only as scrypt hashes),
and the rule that a server reachable from other machines must ask for them.

    radsearch users add --file users.toml alice       # prints alice's token once
    radsearch ui --library LIB --host 0.0.0.0 --users users.toml

Loopback addresses (127.0.0.1, ::1, localhost) are this machine's own users, as for any local tool;
any other address needs a users file, and every search is then audited under the login's name.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import tomllib
from pathlib import Path

import tomli_w

from .errors import AccessDenied
from .files import atomic_write_bytes

USERS_ENV = "RADSEARCH_USERS"  # the users file, for `streamlit run` started without the radsearch CLI
MAX_UPLOAD_MB = 64  # larger than any plain radiograph; refuses accidental multi-GB drops (RADSEARCH_MAX_UPLOAD_MB)
UPLOAD_ENV = "RADSEARCH_MAX_UPLOAD_MB"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}  # ~50 ms per check: slow to guess, quick to log in
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def upload_limit_mb() -> float:
    """The largest upload the UI and the REST API accept, in MB."""
    return float(os.environ.get(UPLOAD_ENV, MAX_UPLOAD_MB))


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def require_auth(host: str, users_file: str | Path | None) -> None:
    """Refuse to serve on a non-loopback address without a users file that has at least one user."""
    if is_loopback(host):
        return
    if not users_file:
        raise AccessDenied(f"refusing to serve on {host} without authentication: give --users FILE (create it with "
                           "`radsearch users add --file FILE NAME`), or keep the default 127.0.0.1")
    if not read_users(users_file):
        raise AccessDenied(f"{users_file} has no users; add one with `radsearch users add --file {users_file} NAME`")


def read_users(path: str | Path) -> dict[str, dict[str, str]]:
    """Name -> {salt, hash} of a users file; a missing file has no users."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        users = tomllib.loads(path.read_text()).get("users", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise AccessDenied(f"{path} is not a radsearch users file ({e}); recreate it with `radsearch users add`") from e
    if not isinstance(users, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("salt"), str) and isinstance(v.get("hash"), str)
            for v in users.values()):
        raise AccessDenied(f"{path} is not a radsearch users file; recreate it with `radsearch users add`")
    return users


def add_user(path: str | Path, name: str) -> str:
    """Create (or replace) a user's token; returns the token, which is stored only as a hash."""
    if not _NAME.match(name):
        raise AccessDenied(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    users = read_users(path)
    token = secrets.token_urlsafe(24)
    salt = secrets.token_hex(16)
    users[name] = {"salt": salt, "hash": _hash(token, salt)}
    atomic_write_bytes(Path(path), tomli_w.dumps({"users": users}).encode())
    os.chmod(path, 0o600)  # hashes only, but no one else's business
    return token


def remove_user(path: str | Path, name: str) -> None:
    users = read_users(path)
    if name not in users:
        raise AccessDenied(f"{path} has no user {name!r}")
    del users[name]
    atomic_write_bytes(Path(path), tomli_w.dumps({"users": users}).encode())


def authenticate(path: str | Path, name: str, token: str) -> bool:
    """Whether `token` is `name`'s; compared in constant time, unknown names cost as much as known ones."""
    user = read_users(path).get(name.strip())
    salt, expected = (user["salt"], user["hash"]) if user else ("0" * 32, "")
    actual = _hash(token, salt)
    return bool(user) and hmac.compare_digest(actual, expected)


def _hash(token: str, salt: str) -> str:
    return hashlib.scrypt(token.encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()
