"""Sentences built from an image's manifest labels and body part, for archives whose images have labels but
no report: the text tower learns them, so text search works there too ("hand fracture", "normal chest").

An unlabelled image is described as negative only for the findings its own source annotates (a FracAtlas
hand without a fracture label reads "no fracture", not "no pneumothorax"): datasets.source_of says which.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .manifest import ManifestRecord, source_of

MAX_NEGATIVES = 4  # beyond this many annotated findings an unlabelled image reads "no finding labelled"


def label_vocabularies(records: Iterable[ManifestRecord]) -> dict[str, set[str]]:
    """source -> the labels any of its images carries: what that source annotates."""
    out: dict[str, set[str]] = {}
    for record in records:
        out.setdefault(source_of(record), set()).update(record.labels)
    return out


def _words(name: str) -> str:
    return name.replace("_", " ").strip().lower()


def label_sentence(record: ManifestRecord, vocabularies: Mapping[str, set[str]]) -> str:
    """'Hand radiograph: fracture, orthopedic hardware.' or 'Chest radiograph: normal, no finding labelled.';
    "" where the record has neither labels nor a source that annotates any."""
    part = _words(record.body_part) or "the"
    subject = f"{part[0].upper()}{part[1:]} radiograph" if part != "the" else "Radiograph"
    if record.labels:
        return f"{subject}: {', '.join(_words(name) for name in sorted(record.labels))}."
    annotated = sorted(vocabularies.get(source_of(record), ()))
    if not annotated:
        return ""
    if len(annotated) > MAX_NEGATIVES:
        return f"{subject}: normal, no finding labelled."
    return f"{subject}: normal, " + ", ".join(f"no {_words(name)}" for name in annotated) + "."


def label_keys(record: ManifestRecord, vocabularies: Mapping[str, set[str]]) -> frozenset[str]:
    """What an image is, for label-contrastive training: its labels, or "normal" of its source when its source
    annotates findings and it has none; empty when nothing is known (an unlabelled image of an unlabelled
    source has no positives)."""
    if record.labels:
        return frozenset(record.labels)
    source = source_of(record)
    return frozenset({f"normal ({source})" if source else "normal"}) if vocabularies.get(source) else frozenset()
