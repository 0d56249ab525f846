"""Text queries with negation: "effusion without pneumothorax" is effusion, minus pneumothorax.

Contrastive text towers barely tell "pneumothorax" from "no pneumothorax", so a negated phrase is
split off the query and searched for separately; results that match it are pushed down (Library).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# The ways a query says "not this". Query grammar, not report language: reports are read by
# datasets.report_reading; a query is a short phrase whose negated part is split off here.
_CUES = ("negative for", "absence of", "free of", "but not", "but no", "excluding", "except", "without", "not", "no")
_CUE = re.compile(r"\b(" + "|".join(re.escape(cue) for cue in _CUES) + r")\b", re.IGNORECASE)  # longest first
_CLAUSES = re.compile(r"[,;.]|\bbut\b(?!\s+(?:no|not)\b)", re.IGNORECASE)
_LIST = re.compile(r"\s*(?:,|\bor\b|\bnor\b|\band\b|/)\s*", re.IGNORECASE)


@dataclass
class TextQuery:
    """A free-text query split into what is wanted and what is not."""

    text: str
    positive: str  # the wanted findings ("" when the whole query is negated)
    negated: list[str] = field(default_factory=list)  # phrases results should not show


def parse_text_query(text: str) -> TextQuery:
    """Split off negated phrases: "left effusion without pneumothorax or nodule" -> effusion; [pneumothorax, nodule]."""
    positive: list[str] = []
    negated: list[str] = []
    for clause in _CLAUSES.split(text):
        cue = _CUE.search(clause)
        if cue is None:
            positive.append(clause)
            continue
        positive.append(clause[:cue.start()])
        for part in _LIST.split(clause[cue.end():]):
            if part.strip().lower().startswith("with "):  # "without X and with Y": Y is wanted again
                positive.append(part.strip()[5:])
            elif part.strip():
                negated.append(part)
    wanted = ", ".join(" ".join(part.split()) for part in positive if part.strip())
    return TextQuery(text=text, positive=wanted, negated=[" ".join(n.split()) for n in negated])


def names_a_file(query: object) -> bool:
    """Whether a query (a str or Path) names an existing file; text too long or odd for a path does not."""
    if not isinstance(query, (str, Path)):
        return False
    try:
        return Path(query).is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL character
        return False


def negation_penalty(vectors: np.ndarray, wanted: np.ndarray, negated: np.ndarray) -> np.ndarray:
    """How much more than a typical candidate each candidate (rows of `vectors`) matches a negated phrase.

    The negated phrase's text vector shares a lot with the wanted one ("pneumothorax" and "pleural
    effusion" are both chest findings), and subtracting raw similarity to it pushed down effusion cases that
    merely looked like chest findings, letting pneumothorax cases rise. So each negated direction keeps
    only its part orthogonal to the wanted direction, and a candidate is penalised only for matching it
    more than the median candidate of the pool does (never rewarded for matching it less).
    """
    centre = wanted.mean(axis=0)
    centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
    own = negated - np.outer(negated @ centre, centre)  # what "pneumothorax" says beyond "pleural effusion"
    own = own / np.maximum(np.linalg.norm(own, axis=1, keepdims=True), 1e-12)
    match = vectors @ own.T  # (candidates, negated phrases)
    return np.maximum(match - np.median(match, axis=0, keepdims=True), 0.0).max(axis=1)
