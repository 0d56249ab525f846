"""Search: the query engine over a library (images, reports) and its result objects."""

from .hits import Hit, ReportHit
from .library import Library, open_library

__all__ = ["Hit", "Library", "ReportHit", "open_library"]
