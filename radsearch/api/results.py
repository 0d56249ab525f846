"""What the REST API returns: the Python API's result objects as JSON, with links a client can follow."""

from __future__ import annotations

from typing import Any

from ..library import Library
from ..search.hits import GroupHit, Hit, ReportHit


def hit_json(hit: Hit) -> dict[str, Any]:
    """One image hit; its preview as an API link rather than a path on the server's disk."""
    out = hit.to_dict()
    out["thumbnail"] = f"/images/{hit.id}/thumbnail" if hit.thumbnail else None
    return out


def hits_json(lib: Library, hits: list) -> dict[str, Any]:
    """{"results": [...], "notes": [...]}: the notes say why an answer may mislead, or why it is empty."""
    results = []
    for hit in hits:
        if isinstance(hit, GroupHit):
            results.append({"key": hit.key, "score": hit.score, "hits": [hit_json(h) for h in hit.hits]})
        elif isinstance(hit, ReportHit):
            results.append(hit.to_dict())
        else:
            results.append(hit_json(hit))
    return {"results": results, "notes": list(getattr(hits, "notes", []))}


def image_json(lib: Library, record: Any) -> dict[str, Any]:
    """An indexed image as GET /images/{id} shows it."""
    return {"id": record.id, "path": record.path, "frame": record.frame, "study_key": record.study_key,
            "metadata": record.metadata, "labels": record.labels, "report": record.report,
            "thumbnail": f"/images/{record.id}/thumbnail" if lib.thumbnail(record.id) else None,
            "viewer_url": lib.viewer_url(record.metadata)}


def draft_json(made: Any) -> dict[str, Any]:
    """A report draft with its evidence: the same fields as `radsearch draft --json`."""
    return {"text": made.text, "uncertain": made.uncertain, "disputed": made.disputed,
            "abstained": made.abstained or None, "sentences": [vars(s) for s in made.sentences],
            "cases": [{"study_key": c.study_key, "score": c.score} for c in made.cases]}
