"""Search: the query engine over a library's storage and encoder, and its result objects."""

from .collections import Collections
from .draft import Case, Draft, DraftSentence, draft_from_cases
from .engine import SearchEngine, is_text
from .feedback import Feedback
from .hits import Evidence, GroupHit, Hit, ReportHit

__all__ = ["Case", "Collections", "Draft", "DraftSentence", "Evidence", "Feedback", "GroupHit", "Hit", "ReportHit",
           "SearchEngine", "draft_from_cases", "is_text"]
