"""One vocabulary for labels, views, splits and sex, whatever spelling a source uses.

Importers map every public dataset onto these names, so a probe trained on one source's
"Effusion" and another's "pleural effusion" sees the same label (`pleural_effusion`).
"""

from __future__ import annotations

import re

NORMAL = {"no_finding", "normal", "no_findings", "no_indexing", "exclude", ""}  # absence of a finding, not a label
LABEL_SYNONYMS = {"effusion": "pleural_effusion", "pneumothorace": "pneumothorax"}
VIEW_SYNONYMS = {"LATERAL": "LAT", "LL": "LAT", "RL": "LAT", "L": "LAT", "LAT": "LAT", "PA": "PA", "AP": "AP",
                 "AP_HORIZONTAL": "AP", "AP AXIAL": "AP", "AP_SUPINE": "AP"}
SPLIT_SYNONYMS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validate": "val",
                  "validation": "val", "test": "test", "testing": "test"}
SEX_SYNONYMS = {"m": "M", "male": "M", "f": "F", "female": "F"}


def canonical_label(name: str) -> str | None:
    """'Pleural Effusion', 'Effusion', 'pleural_effusion' -> 'pleural_effusion'; 'No Finding' -> None."""
    key = re.sub(r"[^a-z0-9]+", "_", (name or "").strip().lower()).strip("_")
    if key in NORMAL:
        return None
    return LABEL_SYNONYMS.get(key, key)


def canonical_labels(names) -> list[str]:  # noqa: ANN001 (any iterable of str)
    return sorted({label for label in (canonical_label(n) for n in names) if label})


def canonical_view(view: str) -> str:
    """'LATERAL', 'LL', 'L' -> 'LAT'; 'AP_horizontal' -> 'AP'; unknown spellings upper-cased as they are."""
    text = (view or "").strip().upper()
    return VIEW_SYNONYMS.get(text, text)


def canonical_split(split: str) -> str:
    text = (split or "").strip().lower()
    return SPLIT_SYNONYMS.get(text, text)


def canonical_sex(sex: str) -> str:
    return SEX_SYNONYMS.get((sex or "").strip().lower(), "")
