"""Indexer: scan an archive, decode, embed and write rows and vectors together.

The pipeline (and with it torch) loads lazily: decode worker processes import indexer.prepare only.
"""

from .remove import remove
from .scan import ScanItem, ScanResult, content_hash, scan

_PIPELINE = ("IndexSummary", "index", "open_or_create")


def __getattr__(name: str):
    if name in _PIPELINE:
        from . import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["IndexSummary", "ScanItem", "ScanResult", "content_hash", "index", "open_or_create", "remove", "scan"]
