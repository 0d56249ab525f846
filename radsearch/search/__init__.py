"""Search: the query engine over a library (images, reports) and its result objects."""

from .hits import Evidence, GroupHit, Hit, ReportHit
from .library import Library, open_library

__all__ = ["Evidence", "GroupHit", "Hit", "Library", "ReportHit", "open_library"]
