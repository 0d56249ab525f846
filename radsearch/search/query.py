"""Text queries with negation: "effusion without pneumothorax" is effusion, minus pneumothorax.

Contrastive text towers barely tell "pneumothorax" from "no pneumothorax", so a negated phrase is
split off the query and searched for separately; results that match it are pushed down (Library).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..datasets.report_text import negation_pattern

_CUE = negation_pattern("but not", "but no", "excluding", "except")  # and the ways queries say "not this"
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
