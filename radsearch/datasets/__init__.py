"""The manifest contract and the data sources that produce it (synthetic radiographs first)."""

from .report_text import embedding_text, sections
from .manifest import ManifestRecord, read_manifest, write_manifest
from .synthetic import FINDINGS, generate_archive, render

__all__ = ["FINDINGS", "embedding_text", "sections", "ManifestRecord", "generate_archive", "read_manifest", "render", "write_manifest"]
