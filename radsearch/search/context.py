"""Saying when an answer should not be trusted, instead of answering wrongly: a query whose anatomy differs
from its neighbours', a query unlike anything in the library, and why an answer is empty.

Body parts are compared by region, since headers and manifests name them at different grains (a DICOM
header's KNEE is a manifest's LEG). The library's usual similarity is the spread of each image's best
match among the others, measured once per engine on a sample of stored vectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# DICOM BodyPartExamined values (PS3.16 CID 4031 and common site usage) and manifest names, by region
_REGIONS = {
    "chest": {"CHEST", "THORAX", "LUNG", "RIB", "RIBS", "STERNUM", "BREAST", "HEART"},
    "abdomen": {"ABDOMEN", "ABD", "KUB", "BOWEL", "STOMACH"},
    "pelvis and hip": {"PELVIS", "HIP", "SACRUM", "SI_JOINT", "SIJOINT"},
    "upper limb": {"HAND", "WRIST", "FINGER", "THUMB", "FOREARM", "ELBOW", "ARM", "HUMERUS", "UPPER_LIMB",
                   "UPPEREXTREMITY", "UPPER_EXTREMITY", "EXTREMITY_UPPER"},
    "shoulder": {"SHOULDER", "CLAVICLE", "SCAPULA", "ACJOINT", "AC_JOINT"},
    "lower limb": {"KNEE", "LEG", "TIBIA", "FIBULA", "FEMUR", "THIGH", "ANKLE", "FOOT", "TOE", "HEEL",
                   "CALCANEUS", "LOWER_LIMB", "LOWEREXTREMITY", "LOWER_EXTREMITY", "EXTREMITY_LOWER"},
    "head and neck": {"HEAD", "SKULL", "BRAIN", "FACE", "SINUS", "NECK", "JAW", "MANDIBLE", "ORBIT"},
    "spine": {"SPINE", "CSPINE", "TSPINE", "LSPINE", "CERVICAL_SPINE", "THORACIC_SPINE", "LUMBAR_SPINE",
              "WHOLESPINE", "COCCYX"},
}
_REGION_OF = {name: region for region, names in _REGIONS.items() for name in names}
UNUSUAL_QUANTILE = 0.02  # a best match below the library's 2nd percentile of best matches is unusual
SAMPLE = 256  # library images whose best match sets the usual range (search.engine.usual_range)


def region(body_part: str | None) -> str | None:
    """The region of a body part name ("KNEE" -> "lower limb"); the name itself when unknown, None if empty."""
    if not body_part:
        return None
    name = str(body_part).strip().upper().replace(" ", "_").replace("-", "_")
    return _REGION_OF.get(name, _REGION_OF.get(name.replace("_", ""), name.lower()))


class Results(list):
    """A list of hits that also carries notes: why it may be misleading, or why it is empty."""

    def __init__(self, hits: Any = (), notes: list[str] | None = None) -> None:
        super().__init__(hits)
        self.notes: list[str] = list(notes or [])


@dataclass
class UsualRange:
    """The spread of best-match similarities among the library's own images."""

    low: float  # UNUSUAL_QUANTILE of the sampled best matches
    median: float
    sampled: int


def usual_range(best: np.ndarray) -> UsualRange | None:
    """The range from each sampled library image's best similarity to another; None below 10 images."""
    best = np.asarray(best, dtype=np.float64)
    best = best[np.isfinite(best)]
    if len(best) < 10:
        return None
    return UsualRange(float(np.quantile(best, UNUSUAL_QUANTILE)), float(np.median(best)), len(best))


@dataclass
class AnatomyCheck:
    """The query's body part (from its header) beside its neighbours'."""

    query: str | None  # region from the header, or None
    neighbours: dict[str, int] = field(default_factory=dict)  # region -> hits

    @property
    def majority(self) -> str | None:
        return max(self.neighbours, key=self.neighbours.get) if self.neighbours else None

    def note(self) -> str | None:
        if self.query is None or not self.neighbours or self.query in self.neighbours:
            return None
        found = ", ".join(f"{n} {name}" for name, n in sorted(self.neighbours.items(), key=lambda x: -x[1]))
        return (f"the query's header says {self.query}, but its most similar images are {found}: the library "
                f"may hold no {self.query} images like it, or the model does not tell them apart")


def anatomy_check(query_body_part: str | None, hits: list) -> AnatomyCheck:
    regions: dict[str, int] = {}
    for hit in hits:
        name = region(hit.metadata.get("body_part"))
        if name:
            regions[name] = regions.get(name, 0) + 1
    return AnatomyCheck(region(query_body_part), regions)


def similarity_note(best: float, usual: UsualRange | None) -> str | None:
    if usual is None or best >= usual.low:
        return None
    return (f"the best match scores {best:.2f}, below what {UNUSUAL_QUANTILE:.0%} of this library's own images "
            f"reach (usual best match {usual.median:.2f}): the query is unlike anything here")
