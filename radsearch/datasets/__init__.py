"""The manifest contract and the data sources that produce it (synthetic radiographs first)."""

from .manifest import ManifestRecord, read_manifest, source_of, write_manifest
from .report_text import embedding_text, report_sentences, sections
from .synthetic import FINDINGS, generate_archive, render

__all__ = ["FINDINGS", "ManifestRecord", "embedding_text", "generate_archive", "read_manifest", "render",
           "report_sentences", "sections", "source_of", "write_manifest"]
