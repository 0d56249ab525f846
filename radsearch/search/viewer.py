"""Links from a result into a DICOM viewer: a URL template filled with the hit's DICOM UIDs.

    viewer_url = "https://pacs.example.org/ohif/viewer?StudyInstanceUIDs={study_uid}"

The template is the library's `viewer_url` (radsearch.toml), or RADSEARCH_VIEWER_URL where set. It may
use {study_uid}, {series_uid} and {sop_uid}; each is URL-quoted. An image without the UIDs the template
needs (a PNG from a manifest) gets no link rather than a broken one.
"""

from __future__ import annotations

import os
import string
from typing import Any
from urllib.parse import quote

VIEWER_ENV = "RADSEARCH_VIEWER_URL"
FIELDS = ("study_uid", "series_uid", "sop_uid")
OHIF_EXAMPLE = "http://localhost:3000/viewer?StudyInstanceUIDs={study_uid}"


def viewer_template(configured: str = "") -> str:
    """The template in force: the environment's, else the library's; checked for unknown fields."""
    template = os.environ.get(VIEWER_ENV) or configured or ""
    check_template(template)
    return template


def check_template(template: str) -> None:
    """Refuse a template naming fields radsearch cannot fill, naming the ones it can."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as e:
        raise ValueError(f"viewer URL template {template!r} is not a format string ({e}); e.g. {OHIF_EXAMPLE}") from e
    unknown = names - set(FIELDS)
    if unknown:
        raise ValueError(f"viewer URL template {template!r} uses {', '.join(sorted(unknown))}; "
                         f"it may use {', '.join('{' + f + '}' for f in FIELDS)}")


def viewer_url(template: str, metadata: dict[str, Any]) -> str | None:
    """The template filled with an image's UIDs, or None without a template or a UID it needs."""
    if not template:
        return None
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    values = {name: metadata.get(name) for name in names}
    if not all(values.values()):
        return None
    return template.format(**{name: quote(str(value), safe="") for name, value in values.items()})
