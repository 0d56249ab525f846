"""The DICOM header as JSON for the catalog: everything but pixels, binaries, private tags and identities.

What goes is decided by DICOM PS3.15 Table E.1-1 (deid_profile), at every depth of nested sequences:
an attribute the table lists is stored only where the profile keeps it unchanged (K) under the options a
library needs for search, namely patient characteristics (age, sex, size, weight: filters), full dates
(date filters), UIDs (viewer links, PACS queries, incremental sync) and institution identity (the site
filter; docs/privacy.md). Every PN element goes as well.
The catalog keeps the patient and accession identifiers only as pseudonyms in their own columns (see
radsearch.privacy).
"""

from __future__ import annotations

import logging
from typing import Any

import pydicom
from pydicom.dataset import Dataset

from .deid_profile import Profile

log = logging.getLogger(__name__)

BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}  # pixels, overlays, LUT data, icons: not metadata
CATALOG_OPTIONS = ("patient-characteristics", "full-dates", "uids", "institution-identity")  # search needs them
_PROFILE = Profile(CATALOG_OPTIONS)


def header_json(ds: Dataset) -> dict[str, Any] | None:
    """The header in DICOM JSON form (PS3.18 F), minus what Table E.1-1 does not keep and PN elements."""
    try:
        return _kept(ds).to_json_dict(suppress_invalid_tags=True)
    except Exception as e:  # a damaged header must not stop indexing; the image's columns still hold its facts
        log.warning("header not stored as JSON (%s: %s)", type(e).__name__, e)
        return None


def _kept(ds: Dataset) -> Dataset:
    out = Dataset()
    for elem in ds:
        if (elem.tag.is_private or elem.VR in BINARY_VRS or elem.VR == "PN" or elem.tag.group == 0x7FE0
                or _PROFILE.action(int(elem.tag)) not in (None, "K")):
            continue
        if elem.VR == "SQ":
            out.add_new(elem.tag, "SQ", pydicom.Sequence([_kept(item) for item in elem.value]))
        else:
            out.add(elem)
    return out
