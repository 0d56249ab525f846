"""Indexer: scan an archive, decode, embed and write rows and vectors together."""

from .pipeline import IndexSummary, index, open_or_create
from .remove import remove
from .scan import ScanItem, ScanResult, content_hash, scan

__all__ = ["IndexSummary", "ScanItem", "ScanResult", "content_hash", "index", "open_or_create", "remove", "scan"]
