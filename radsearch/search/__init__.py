"""Search: the query engine over a library's storage and encoder, and its result objects."""

from .draft import Case, Draft, DraftSentence, draft_from_cases
from .engine import SearchEngine, is_text
from .hits import Evidence, GroupHit, Hit, ReportHit

__all__ = ["Case", "Draft", "DraftSentence", "Evidence", "GroupHit", "Hit", "ReportHit", "SearchEngine",
           "draft_from_cases", "is_text"]
