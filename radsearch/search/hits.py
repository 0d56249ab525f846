"""What a search returns: everything the UI or a script needs to show a result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Evidence:
    """Why a result matched: its report's sentence nearest to the query, and where it sits in the text."""

    sentence: str
    section: str  # FINDINGS, IMPRESSION, ...
    score: float  # similarity of the sentence to the query
    start: int  # character span of the sentence in the report text (-1 when not found verbatim)
    end: int

    def highlight(self, text: str, mark: tuple[str, str] = ("**", "**")) -> str:
        """The report text with this sentence marked (Markdown bold by default)."""
        if self.start < 0:
            return text
        return text[:self.start] + mark[0] + text[self.start:self.end] + mark[1] + text[self.end:]


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
    why: Evidence | None = None  # the sentence of the study's report nearest to the query
    viewer_url: str | None = None  # the image in the site's DICOM viewer (search.viewer), where configured

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
    why: Evidence | None = None  # the report's sentence nearest to the query, to highlight

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GroupHit:
    """A study or a patient found through its images: the aggregated score and the images that matched."""

    key: str  # study key, or the patient's (pseudonymised) id
    score: float  # max or mean of its images' scores among those retrieved
    hits: list[Hit] = field(default_factory=list)  # its matching images, best first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
