"""PACS credentials from the environment or a file, never from the command line (where `ps` and shell
history would show them) and never logged.

    RADSEARCH_PACS_USER / RADSEARCH_PACS_PASSWORD     HTTP basic authentication
    RADSEARCH_PACS_TOKEN                              a bearer token (OAuth, a gateway's API key)
    RADSEARCH_PACS_CREDENTIALS=FILE  or  --credentials FILE   a TOML file with user + password, or token
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RadsearchError

FILE_ENV = "RADSEARCH_PACS_CREDENTIALS"


@dataclass(frozen=True)
class PacsCredentials:
    user: str = ""
    password: str = field(default="", repr=False)  # repr never shows secrets (logs, tracebacks)
    token: str = field(default="", repr=False)

    def __bool__(self) -> bool:
        return bool(self.user or self.token)


def read_credentials(path: str | Path | None = None) -> PacsCredentials:
    """The credentials in force: a file (given, or RADSEARCH_PACS_CREDENTIALS), else the environment."""
    path = path or os.environ.get(FILE_ENV)
    if path:
        return _from_file(Path(path))
    return PacsCredentials(os.environ.get("RADSEARCH_PACS_USER", ""), os.environ.get("RADSEARCH_PACS_PASSWORD", ""),
                           os.environ.get("RADSEARCH_PACS_TOKEN", ""))


def _from_file(path: Path) -> PacsCredentials:
    if not path.is_file():
        raise RadsearchError(f"PACS credentials file {path} does not exist; write user = \"...\" and "
                             "password = \"...\" (or token = \"...\") into it, readable only by you")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RadsearchError(f"PACS credentials file {path} is readable by other users; chmod 600 {path}")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RadsearchError(f"PACS credentials file {path} is not TOML ({e}); write user = \"...\" and "
                             "password = \"...\", or token = \"...\"") from e
    credentials = PacsCredentials(str(data.get("user", "")), str(data.get("password", "")), str(data.get("token", "")))
    if not credentials:
        raise RadsearchError(f"PACS credentials file {path} has neither user nor token")
    return credentials
