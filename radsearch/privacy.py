"""Pseudonyms for patient and accession identifiers: what the catalog stores instead of the real ones.

A pseudonym is a keyed hash (HMAC-SHA256) of the identifier with the library's own salt, so the same
patient gets the same pseudonym everywhere in one library (grouping, "exclude own patient", leakage
checks keep working) while the catalog never holds the identifier itself. Anyone holding both the
library's radsearch.toml (the salt) and a list of candidate identifiers can test them, so the salt is
as confidential as the archive.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "anon-"
_PSEUDONYM = re.compile(r"^anon-[0-9a-f]{16}$")


def new_salt() -> str:
    """A fresh random salt for a new library (128 bits, hex)."""
    return secrets.token_hex(16)


class Pseudonymizer:
    """Maps identifiers to pseudonyms (or keeps them, where a site's policy needs the real ones)."""

    def __init__(self, salt: str, keep_identifiers: bool = False) -> None:
        if not salt and not keep_identifiers:
            raise ValueError("pseudonyms need a salt; create the library with radsearch to get one")
        self._key = salt.encode()
        self.keep_identifiers = keep_identifiers

    def __call__(self, value: object) -> str | None:
        """The pseudonym of an identifier; None stays None, and a pseudonym maps to itself."""
        if value is None or str(value).strip() == "":
            return None
        text = str(value).strip()
        if self.keep_identifiers or _PSEUDONYM.match(text):
            return text
        return PREFIX + hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:16]
