"""Report text read the way a radiologist wrote it: sections, sentences, and findings with modifiers.

A medspaCy pipeline on a blank spaCy language (no model download): medspaCy's pySBD sentence
splitter ("Dr. Jones" and "3.5 cm" stay in one sentence), a Sectionizer with radiology headers (an unknown
upper-case header starts a section of its own instead of joining the impression), radsearch's
findings as target rules, and ConText for negation, uncertainty, history and hypothesis, with the
statuses radiology adds (unchanged, resolved) and the side. Rules are in `report_rules.py`.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from dataclasses import dataclass

from ..errors import RadsearchError
from . import report_rules as rules

STATUSES = ("present", "absent", "uncertain", "resolved", "unchanged")
ASSERTED = ("present", "unchanged")  # the finding is in the image
DENIED = ("absent", "resolved")  # the finding is not in the image
# ConText category -> status; the first category a finding carries in this order decides
_STATUS_OF = (("RESOLVED", "resolved"), ("NEGATED_EXISTENCE", "absent"), ("POSSIBLE_EXISTENCE", "uncertain"),
              ("HYPOTHETICAL", "uncertain"), ("HISTORICAL", "uncertain"), ("FAMILY", "uncertain"),
              ("UNCHANGED", "unchanged"))
_RULED_OUT = "ruled_out"
_NORMAL_STUDY = re.compile("|".join(f"(?:{p})" for p in rules.NORMAL_STUDY), re.IGNORECASE)
_INSTALL = ("install it as the README says: pip install --no-deps medspacy==1.3.1 PyRuSH==1.0.13 "
            "(their spaCy<3.8 pin for Python 3.11 does not apply; radsearch runs them on spaCy 3.8)")
log = logging.getLogger(__name__)


class ReportLanguageUnavailable(RadsearchError):
    """medspaCy is not installed, so report text cannot be read."""


@dataclass(frozen=True)
class Finding:
    """One mention of a finding: what it is, what the report says about it, where and on which side."""

    label: str  # a FINDING_TARGETS label
    status: str  # one of STATUSES
    side: str | None  # "left", "right", "bilateral" or None when the text does not say
    text: str  # the words that named it
    sentence: str
    section: str

    @property
    def asserted(self) -> bool:
        """In the image: present, or unchanged from before."""
        return self.status in ASSERTED

    @property
    def vote(self) -> bool | None:
        """True when the report says it is there, False when it says it is not, None when uncertain."""
        return True if self.status in ASSERTED else False if self.status in DENIED else None


@dataclass(frozen=True)
class Reading:
    """What a report says: its sections, the sentences about the image, and the findings in them."""

    sections: dict[str, str]  # canonical section name -> text, in report order
    sentences: tuple[tuple[str, str], ...]  # (section, sentence) of FINDING_SECTIONS, in order
    findings: tuple[Finding, ...]
    cues: frozenset[str] = frozenset()  # ConText categories of every modifier in the text ("NEGATED_EXISTENCE")
    normal: tuple[str, ...] = ()  # sentences calling the study normal that name no finding (report_rules.NORMAL_STUDY)

    def labels(self) -> set[str]:
        """Findings the report says are in the image (present or unchanged)."""
        return {f.label for f in self.findings if f.asserted}

    def positions(self) -> dict[str, bool]:
        """Label -> True (in the image) or False (ruled out) for every label the report takes a
        position on; an uncertain mention takes none. A label both asserted and denied counts as asserted."""
        votes: dict[str, bool] = {}
        for finding in self.findings:
            if finding.vote is not None:
                votes[finding.label] = votes.get(finding.label, False) or finding.vote
        return votes

    def sides(self, label: str) -> set[str]:
        return {f.side for f in self.findings if f.label == label and f.asserted and f.side}


def read_report(text: str) -> Reading:
    """Read a report (or a draft, or a query phrase): sections, sentences and findings."""
    return _read(text or "")


@functools.lru_cache(maxsize=8192)
def _read(text: str) -> Reading:
    if not text.strip():
        return Reading({}, (), ())
    doc = _pipeline()(text)
    spans = _section_spans(doc)
    sections: dict[str, str] = {}
    for name, start, end in spans:
        body = doc[start:end].text.strip()
        if body:
            sections[name] = f"{sections[name]} {body}" if name in sections else body
    sentences: list[tuple[str, str]] = []
    normal: list[str] = []
    for name, start, end in spans:
        if name not in rules.FINDING_SECTIONS:
            continue
        for sent in doc.sents:
            lo, hi = max(sent.start, start), min(sent.end, end)
            if lo < hi and (piece := doc[lo:hi].text.strip(" \n\t:")):
                sentences.append((name, piece))
                if _NORMAL_STUDY.search(piece) and not any(lo <= ent.start < hi for ent in doc.ents):
                    normal.append(piece)
    cues = frozenset(modifier.category for modifier in doc._.context_graph.modifiers)
    return Reading(sections, tuple(sentences), _findings(doc, spans), cues, tuple(normal))


def read_phrase(text: str, phrase: str) -> tuple[Finding, ...]:
    """Each mention of `phrase` (any words, not only radsearch's findings) in the text's finding
    sections, with the status and side ConText gives it; the label is the phrase, lower-cased."""
    return _read_phrase(text or "", " ".join((phrase or "").lower().split()))


@functools.lru_cache(maxsize=4096)
def _read_phrase(text: str, phrase: str) -> tuple[Finding, ...]:
    if not phrase or not text.strip():
        return ()
    from spacy.util import filter_spans

    nlp = _pipeline()
    literal = re.compile(r"\b" + r"\s+".join(re.escape(word) for word in phrase.split()) + r"\b", re.IGNORECASE)
    doc = nlp.make_doc(text)
    for name, component in nlp.pipeline:
        if name == "medspacy_target_matcher":  # the phrase is the only target
            spans = [doc.char_span(m.start(), m.end(), label=phrase, alignment_mode="expand")
                     for m in literal.finditer(text)]
            doc.ents = filter_spans([span for span in spans if span is not None])
        else:
            doc = component(doc)
    return _findings(doc, _section_spans(doc))


def _findings(doc, spans: list[tuple[str, int, int]]) -> tuple[Finding, ...]:  # noqa: ANN001 (a spaCy Doc)
    found = []
    for ent in doc.ents:
        section = next((name for name, start, end in spans if start <= ent.start < end), None)
        if section in rules.FINDING_SECTIONS:
            found.append(Finding(ent.label_, _status(ent), _side(ent), ent.text, ent.sent.text.strip(), section))
    return tuple(found)


def _section_spans(doc) -> list[tuple[str, int, int]]:  # noqa: ANN001 (a spaCy Doc)
    """(canonical name, body start token, body end token) per section; text before the first header
    is dropped when there are headers (it is usually the examination line), kept as TEXT otherwise."""
    found = [s for s in doc._.sections if s.category]
    if not found:
        return [(rules.WHOLE_TEXT, 0, len(doc))]
    return [(s.category, s.body_start, s.body_end) for s in found]


def _status(ent) -> str:  # noqa: ANN001 (a spaCy Span)
    rule = ent._.target_rule
    if rule is not None and (rule.metadata or {}).get(_RULED_OUT):
        return "absent"
    categories = {modifier.category for modifier in ent._.modifiers}
    return next((status for category, status in _STATUS_OF if category in categories), "present")


def _side(ent) -> str | None:  # noqa: ANN001 (a spaCy Span)
    """The side the clause gives the finding (report_rules.SIDE_WORDS says where it may stand)."""
    doc, sides = ent.doc, set()
    words = [t.lower_ for t in ent]
    for token in reversed(doc[max(ent.sent.start, ent.start - rules.SIDE_SCOPE):ent.start]):
        if token.lower_ in rules.CLAUSE_BREAKS:
            break
        words.append(token.lower_)
    for token in doc[ent.end:min(ent.sent.end, ent.end + rules.SIDE_SCOPE_AFTER)]:
        if token.lower_ in rules.CLAUSE_BREAKS:
            break
        if token.lower_ in rules.SIDE_WORDS:
            words.append(token.lower_)
            break
    sides = {rules.SIDE_WORDS[word] for word in words if word in rules.SIDE_WORDS}
    if "bilateral" in sides or {"left", "right"} <= sides:
        return "bilateral"
    return next(iter(sides), None)


@functools.lru_cache(maxsize=1)
def _pipeline():  # noqa: ANN202 (a spaCy Language)
    """The medspaCy pipeline, built once per process from report_rules."""
    try:
        import spacy
        from loguru import logger
        from medspacy.context import ConText, ConTextRule  # noqa: F401 (importing ConText registers its factory)
        from medspacy.custom_tokenizer import create_medspacy_tokenizer
        from medspacy.section_detection import SectionRule
        from medspacy.target_matcher import TargetRule
    except ImportError as error:
        raise ReportLanguageUnavailable(f"report text needs medspaCy, which is not importable ({error}); "
                                        f"{_INSTALL}") from error
    logger.disable("PyRuSH")  # imported by medspaCy, it logs through loguru at DEBUG
    # medspaCy's regex-only target matcher keeps an empty spaCy Matcher, which warns on every document
    warnings.filterwarnings("ignore", message=r"\[W036\]", category=UserWarning)
    nlp = spacy.blank("en")
    nlp.tokenizer = create_medspacy_tokenizer(nlp)
    # pySBD, not medspaCy's default PyRuSH: both split the checklist in tests/datasets/test_report_reading.py
    # right, and on the IU reports PyRuSH took 15.7 ms a report, pySBD 3.7 ms.
    nlp.add_pipe("medspacy_pysbd")
    matcher = nlp.add_pipe("medspacy_target_matcher")
    matcher.add([TargetRule(label, label, pattern=rf"(?i)\b(?:{pattern})\b")
                 for label, patterns in rules.FINDING_TARGETS.items() for pattern in patterns])
    matcher.add([TargetRule(label, label, pattern=rf"(?i)\b(?:{pattern})\b", metadata={_RULED_OUT: True})
                 for label, patterns in rules.RULED_OUT_TARGETS.items() for pattern in patterns])
    sectionizer = nlp.add_pipe("medspacy_sectionizer", config={"rules": None})
    sectionizer.add(_section_rules(SectionRule))
    context = nlp.add_pipe("medspacy_context", config={"rules": None})
    defaults = [r for r in ConTextRule.from_json(context.DEFAULT_RULES_FILEPATH)
                if r.literal.lower() not in rules.REPLACED_DEFAULTS]
    extra = [ConTextRule(literal, category, pattern=pattern, direction=direction)
             for literal, category, direction, pattern in rules.EXTRA_MODIFIERS]
    context.add(defaults + extra)
    log.debug("report language pipeline: %s", nlp.pipe_names)
    return nlp


def _section_rules(section_rule) -> list:  # noqa: ANN001 (medspaCy's SectionRule class)
    """A known header phrase then a colon; any other upper-case word(s) then a colon is OTHER."""
    known = []
    for name, phrases in rules.SECTION_HEADERS.items():
        for phrase in phrases:
            words = [{"LOWER": word} for word in phrase.split()]
            known.append(section_rule(phrase, name, pattern=[*words, {"ORTH": ":"}]))
    first_words = sorted({phrase.split()[0] for phrases in rules.SECTION_HEADERS.values() for phrase in phrases})
    unknown = section_rule("unknown header", rules.OTHER_SECTION,
                           pattern=[{"IS_UPPER": True, "IS_ALPHA": True, "LENGTH": {">=": 3},
                                     "LOWER": {"NOT_IN": first_words}},
                                    {"IS_UPPER": True, "OP": "*"}, {"ORTH": ":"}])
    return [*known, unknown]
