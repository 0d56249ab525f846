"""Indexer: scan an archive, decode, embed and write rows and vectors together (`Library.index` runs it).

The pipeline (and with it torch) loads lazily: decode worker processes import indexer.prepare only.
"""

from .remove import images_under, missing_images, remove_files
from .scan import ScanItem, ScanResult, scan

_PIPELINE = ("IndexSummary", "index_files", "record_run")


def __getattr__(name: str):
    if name in _PIPELINE:
        from . import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["IndexSummary", "ScanItem", "ScanResult", "images_under", "index_files", "missing_images", "record_run",
           "remove_files", "scan"]
