"""Retrieval-augmented report drafts: the sentences the most similar cases agree on, each cited.

No language model: sentences are taken verbatim from the neighbours' reports, grouped when they say
the same thing, weighted by how similar their case is to the query, and kept when enough of that
weight supports them. A sentence about radsearch's findings is read with its modifiers
(datasets.report_reading): sentences stating the same findings with the same status and side are
one statement, whatever their wording, and so are the ways of calling a study normal ("Normal chest
radiograph.", "No acute cardiopulmonary process."); "No pleural effusion." against "Small left pleural effusion."
is settled by the weight of the cases on each side, each case counted once; an uncertain mention
("Cannot exclude pneumothorax.") is no vote. Other sentences are grouped by their words and text
embeddings. When no side has a clear majority the draft says the cases disagree instead of
choosing. A site may pass its own generator (e.g. a local language model), which receives the cases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..datasets.report_reading import read_report

SECTIONS = ("FINDINGS", "IMPRESSION")  # the order a draft is written in
DUPLICATE_SIMILARITY = 0.95  # text-embedding cosine above which two sentences say the same thing
MIN_SUPPORT = 0.5  # share of the neighbours' weight a sentence must exceed to enter the draft
NORMAL_STUDY = "normal_study"  # the claim of a sentence calling the study normal, however it is worded
MAJORITY = 0.65  # share of a disputed topic's weight the winning side needs; below it, the draft says so

_SIDES = {"left", "right", "bilateral"}
_DENIAL = {"NEGATED_EXISTENCE", "RESOLVED"}  # ConText categories that say "not there"
# words that carry no topic: grammar, certainty, size and place (place is compared on its own, as sides)
_FILLER = {"a", "an", "the", "is", "are", "was", "were", "there", "seen", "present", "identified", "noted",
           "evidence", "of", "with", "and", "or", "in", "at", "on", "to", "this", "that", "any", "acute",
           "small", "moderate", "large", "mild", "minimal", "trace", "new", "stable", "apical", "basal",
           "upper", "mid", "lower", "zone", "lobe", "visible", "line", "mm", "cm", "size", "sized",
           "no", "not", "without", "normal", "negative", "free", "absence"} | _SIDES


@dataclass
class Case:
    """One retrieved neighbour: its study, its similarity to the query and its report's sentences."""

    study_key: str
    score: float
    report: str
    sentences: list[tuple[str, str, np.ndarray]]  # (section, text, unit text embedding)


@dataclass
class DraftSentence:
    text: str
    section: str
    support: float  # share of the neighbours' weight whose reports say it
    cases: list[str] = field(default_factory=list)  # study keys it was taken from


@dataclass
class Draft:
    """A drafted report, the evidence for each sentence, and whether the neighbours agreed."""

    sentences: list[DraftSentence]
    cases: list[Case]
    disputed: list[str] = field(default_factory=list)  # "pleural effusion: 3 cases say ..., 2 say ..."
    uncertain: bool = False  # the neighbours disagree too much for a draft
    generated: str | None = None  # a site generator's text, when one was given
    abstained: str = ""  # why no draft was attempted (no reports, no case of the query's anatomy, ...)

    @property
    def text(self) -> str:
        """The draft as a report, each sentence followed by the studies it came from."""
        if self.abstained:
            return f"NO DRAFT: {self.abstained}."
        if self.generated is not None:
            return self.generated
        if self.uncertain:
            return ("NO DRAFT: the most similar cases disagree too much to suggest a report. "
                    + " ".join(self.disputed)).strip()
        parts = []
        for section in SECTIONS:
            chosen = [s for s in self.sentences if s.section == section]
            if chosen:
                parts.append(f"{section}: " + " ".join(f"{s.text} [{', '.join(s.cases)}]" for s in chosen))
        if self.disputed:
            parts.append("NOT DRAFTED, cases disagree: " + " ".join(self.disputed))
        return "\n".join(parts)


Generator = Callable[[str, list[Case], Draft], str]  # (query description, cases, consensus draft) -> text


def draft_from_cases(cases: list[Case], generator: Generator | None = None, query: str = "") -> Draft:
    """Consensus draft from retrieved cases (best first); see the module docstring."""
    weights = {c.study_key: max(c.score, 0.0) for c in cases}
    total = sum(weights.values()) or 1.0
    groups = _group(cases)
    for group in groups:
        group["support"] = sum(weights[key] for key in group["cases"]) / total
    winners, disputed = _settle(groups, weights, total)
    sentences = [DraftSentence(g["text"], g["section"], round(g["support"], 3), sorted(g["cases"]))
                 for g in winners if g["support"] > MIN_SUPPORT]
    sentences.sort(key=lambda s: (SECTIONS.index(s.section), -s.support))
    impressions = [s for s in sentences if s.section == "IMPRESSION"]
    offered = [g for g in groups if g["section"] == "IMPRESSION"]
    draft = Draft(sentences, cases, disputed, uncertain=not cases or (not impressions and bool(offered)))
    if draft.uncertain and offered:
        top = max(offered, key=lambda g: g["support"])
        draft.disputed.append(f"The most common impression, \"{top['text']}\", is in {len(top['cases'])} of "
                              f"{len(cases)} cases ({top['support']:.0%} of their similarity weight).")
    if generator is not None:
        draft.generated = generator(query, cases, draft)
    return draft


def _group(cases: list[Case]) -> list[dict]:
    """Sentences saying the same thing, across reports: one group each, with the cases that say it.

    Same thing: the same findings with the same status and side ("Small left pleural effusion." and
    "There is a small left pleural effusion."); for a sentence naming none of radsearch's findings,
    the same words, or the same polarity and side with a shared topic word and text embeddings closer
    than DUPLICATE_SIMILARITY.
    """
    groups: list[dict] = []
    for case in cases:
        for section, text, vector in case.sentences:
            if section not in SECTIONS:
                continue
            facts = _facts(text)
            same = next((g for g in groups if g["section"] == section and _same(g, vector, facts)), None)
            if same is None:
                groups.append({"section": section, "text": text, "vector": vector, "cases": {case.study_key}} | facts)
            else:
                same["cases"].add(case.study_key)
    return groups


def _facts(text: str) -> dict:
    """What a sentence claims: {label: (says it is there, side)} for its findings, its words and topic."""
    reading = read_report(text)
    claims = {f.label: (f.vote, f.side) for f in reading.findings if f.vote is not None}
    uncertain = {f.label for f in reading.findings if f.vote is None}
    key = _words(text)
    if reading.normal and not claims and not uncertain:  # "Normal chest radiograph." = "No acute disease."
        sides = key & _SIDES
        claims = {NORMAL_STUDY: (True, next(iter(sides)) if len(sides) == 1 else "bilateral" if sides else None)}
    return {"key": key, "claims": claims, "uncertain": frozenset(uncertain), "topic": key - _FILLER,
            "negated": bool(reading.cues & _DENIAL), "sides": key & _SIDES}


def _same(group: dict, vector: np.ndarray, facts: dict) -> bool:
    if group["key"] == facts["key"]:
        return True
    if group["claims"] or facts["claims"] or group["uncertain"] or facts["uncertain"]:
        return group["claims"] == facts["claims"] and group["uncertain"] == facts["uncertain"]
    if group["negated"] != facts["negated"] or group["sides"] != facts["sides"]:
        return False  # text towers barely see negation or side: never let embeddings merge across them
    if facts["topic"] and group["topic"] == facts["topic"]:
        return True
    shared = not (group["topic"] or facts["topic"]) or bool(group["topic"] & facts["topic"])
    return shared and float(group["vector"] @ vector) >= DUPLICATE_SIMILARITY


def _settle(groups: list[dict], weights: dict[str, float], total: float) -> tuple[list[dict], list[str]]:
    """Drop the losing side of each contradiction; report findings where no side has a clear majority.

    Per finding: the cases saying it is there against those saying it is not, each case counted once.
    When the cases agree it is there but not on its side, one statement with "side uncertain" and the
    number of cases per side replaces every sentence placing it; a sentence that gives no side is
    redundant beside a sided one that won. Sentences without findings are settled by topic words.
    """
    losers: set[int] = set()
    disputed: list[str] = []
    merged: list[dict] = []
    for section in SECTIONS:
        labels = dict.fromkeys(label for g in groups if g["section"] == section for label in g["claims"])
        for label in labels:
            about = [j for j, g in enumerate(groups) if g["section"] == section and label in g["claims"]
                     and j not in losers]
            verdict = _settle_label(label, [groups[j] for j in about], weights, total)
            losers.update(about[k] for k in verdict["drop"])
            disputed.extend(verdict["disputed"])
            merged.extend(verdict["merged"])
    for i, group in enumerate(groups):
        if i in losers or group["claims"] or group["uncertain"] or not group["topic"]:
            continue
        rivals = [j for j, other in enumerate(groups) if j != i and j not in losers and not other["claims"]
                  and not other["uncertain"] and other["section"] == group["section"] and _contradict(group, other)]
        if not rivals:
            continue
        sides = [i, *rivals]
        weight = {j: groups[j]["support"] for j in sides}
        winner = max(sides, key=lambda j: weight[j])
        if weight[winner] / (sum(weight.values()) or 1.0) >= MAJORITY:
            losers.update(j for j in sides if j != winner)
        else:
            views = "; ".join(_say(len(groups[j]["cases"]), groups[j]["text"]) for j in sides)
            disputed.append(f"{' '.join(sorted(group['topic']))}: {views}.")
            losers.update(sides)
    return [g for j, g in enumerate(groups) if j not in losers] + merged, disputed


def _settle_label(label: str, about: list[dict], weights: dict[str, float], total: float) -> dict:
    """The verdict on one finding over the groups that claim something about it: which to drop (by
    position in `about`), what is disputed, and any side-uncertain statement that replaces them."""
    verdict: dict = {"drop": set(), "disputed": [], "merged": []}

    def weight(members: list[int]) -> float:
        return sum(weights[key] for key in set().union(*(about[k]["cases"] for k in members))) if members else 0.0

    there = [k for k, g in enumerate(about) if g["claims"][label][0]]
    not_there = [k for k, g in enumerate(about) if not g["claims"][label][0]]
    if there and not_there:
        yes, no = weight(there), weight(not_there)
        if max(yes, no) / ((yes + no) or 1.0) < MAJORITY:
            name = label.replace("_", " ")
            views = "; ".join(_say(len(about[k]["cases"]), about[k]["text"]) for k in there + not_there)
            verdict["disputed"].append(f"{name}: {views}.")
            verdict["drop"].update(there + not_there)
            return verdict
        verdict["drop"].update(not_there if yes > no else there)
        if yes <= no:
            return verdict
    by_side: dict[str, list[int]] = {}
    for k in there:
        by_side.setdefault(about[k]["claims"][label][1] or "", []).append(k)
    sided = {side: members for side, members in by_side.items() if side}
    if not sided:
        return verdict
    verdict["drop"].update(by_side.get("", []))  # "Pleural effusion." beside "Left pleural effusion."
    if len(sided) == 1:
        return verdict
    shares = {side: weight(members) for side, members in sided.items()}
    best = max(shares, key=shares.get)
    if shares[best] / (sum(shares.values()) or 1.0) >= MAJORITY:
        verdict["drop"].update(k for side, members in sided.items() if side != best for k in members)
        return verdict
    verdict["drop"].update(k for members in sided.values() for k in members)
    verdict["merged"].append(_side_uncertain(label, [about[k] for k in there], weights, total))
    return verdict


def _side_uncertain(label: str, groups: list[dict], weights: dict[str, float], total: float) -> dict:
    """One statement for a finding the cases agree on but place on different sides; says so, with the
    number of cases per side (a case counted once per side)."""
    best = max(groups, key=lambda g: g["support"])
    cases = set().union(*(g["cases"] for g in groups))
    per_side: dict[str, set[str]] = {}
    for group in groups:
        per_side.setdefault(group["claims"][label][1] or "side not stated", set()).update(group["cases"])
    unsided = re.sub(r"\s+", " ", re.sub(r"\b(?:left|right|bilateral)\b\s*", "", best["text"], flags=re.I)).strip()
    unsided = unsided[:1].upper() + unsided[1:]
    counts = ", ".join(f"{len(keys)} {side}" for side, keys in sorted(per_side.items()))
    return best | {"text": f"{unsided.rstrip('.')} (side uncertain: {counts}).", "cases": cases,
                   "support": sum(weights[key] for key in cases) / total}


def _contradict(a: dict, b: dict) -> bool:
    """Same topic, opposite statements: one negates what the other affirms, or they differ in side."""
    if not a["topic"] or not b["topic"] or not (a["topic"] <= b["topic"] or b["topic"] <= a["topic"]):
        return False
    if a["negated"] != b["negated"]:
        return True
    return not a["negated"] and bool(a["sides"]) and bool(b["sides"]) and a["sides"] != b["sides"]


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z]+", text.lower()))


def _say(cases: int, text: str) -> str:
    return f"{cases} {'case says' if cases == 1 else 'cases say'} \"{text}\""
