"""Search: the query engine over a library (images, reports) and its result objects."""

from .hits import Evidence, Hit, ReportHit
from .library import Library, open_library

__all__ = ["Evidence", "Hit", "Library", "ReportHit", "open_library"]
