"""What a search returns: everything the UI or a script needs to show a result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Hit:
    """One image result: its catalog id, similarity, file, metadata, labels and study report."""

    id: int
    score: float
    path: str
    study_key: str
    metadata: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    report: str | None = None
    thumbnail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReportHit:
    """One report result: the study's report text and the images it describes."""

    id: int
    score: float
    text: str
    study_key: str
    patient_id: str | None = None
    study_date: str | None = None
    image_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
