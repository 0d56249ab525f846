"""The radiology rules medspaCy reads reports with: section headers, findings, and their modifiers.

Data only; `report_reading.py` builds the pipeline from it. medspaCy's packaged ConText rules
(negation, uncertainty, history, hypothesis, from the VA's ConText work) are used as they are, with
the additions radiology needs: a finding that is unchanged or has resolved, and its side.
"""

from __future__ import annotations

# Canonical section name -> header phrases. A header is its phrase followed by a colon.
SECTION_HEADERS = {
    "EXAMINATION": ("examination", "exam", "procedure", "study", "type of study"),
    "TECHNIQUE": ("technique", "views", "protocol"),
    "INDICATION": ("indication", "indications", "clinical indication", "history", "clinical history",
                   "clinical information", "clinical details", "reason for exam", "reason for examination",
                   "reason for study", "clinical question"),
    "COMPARISON": ("comparison", "comparisons", "prior", "priors", "prior studies"),
    "FINDINGS": ("findings", "finding", "report", "observations"),
    "IMPRESSION": ("impression", "impressions", "conclusion", "conclusions", "opinion", "summary",
                   "assessment", "diagnosis"),
    # what the radiologist did about the findings, not what the image shows
    "NOTIFICATION": ("notification", "communication", "critical result", "critical results",
                     "critical finding", "critical findings", "discussed", "recommendation", "recommendations"),
    "ADDENDUM": ("addendum",),
    "SIGNATURE": ("signed by", "electronically signed by", "dictated by", "attending", "reported by",
                  "verified by", "transcribed by"),
}
OTHER_SECTION = "OTHER"  # an upper-case header radsearch does not know ("NOTE:", "ACCESSION:")
WHOLE_TEXT = "TEXT"  # a report, draft or query with no header at all
FINDING_SECTIONS = ("FINDINGS", "IMPRESSION", WHOLE_TEXT)  # what a report says about the image

# Canonical finding label (datasets.vocabulary names) -> regular expressions that name it.
FINDING_TARGETS = {
    "cardiomegaly": (r"cardiomegaly", r"enlarged (?:heart|cardiac (?:silhouette|shadow|contour))",
                     r"(?:heart|cardiac silhouette|cardiac shadow|heart size) (?:is |appears |remains )?"
                     r"(?:(?:mildly|moderately|markedly|slightly|borderline) )?enlarged",
                     r"cardiac enlargement", r"enlargement of the (?:heart|cardiac silhouette)"),
    "pleural_effusion": (r"(?:pleural )?effusions?", r"pleural fluid", r"blunting of the (?:\w+ )?costophrenic angles?",
                         r"costophrenic (?:angle )?blunting"),
    "pneumothorax": (r"pneumothora(?:x|ces)",),
    "nodule": (r"nodules?", r"nodular (?:opacit(?:y|ies)|densit(?:y|ies))"),
    "consolidation": (r"consolidations?", r"consolidative (?:opacit(?:y|ies)|changes?)",
                      r"airspace (?:opacit(?:y|ies)|disease|consolidation)", r"air-space (?:opacit(?:y|ies)|disease)"),
    "atelectasis": (r"atelectas[ie]s", r"atelectatic(?: changes?)?", r"collapse of the (?:\w+ ){0,2}lobe",
                    r"(?:\w+ )?lobe collapse"),
    "edema": (r"(?:pulmonary |interstitial |alveolar )?o?edema", r"(?:pulmonary )?vascular congestion",
              r"pulmonary congestion", r"cephalization"),
    "fracture": (r"fractures?", r"fractured"),
}

# Phrases that state a finding is absent without a negation word ("Heart size is normal.").
RULED_OUT_TARGETS = {
    "cardiomegaly": (r"(?:normal|unremarkable) (?:heart|cardiac) (?:size|silhouette|contours?|shadow)",
                     r"(?:heart|cardiac) (?:size|silhouette|contours?|shadow)s? (?:is |are |appears |remains )?"
                     r"(?:normal|unremarkable|within normal limits|stable and normal|not enlarged)",
                     r"heart is (?:normal in size|not enlarged)", r"normal[- ]sized heart"),
    "pleural_effusion": (r"(?:costophrenic angles|costophrenic sulci) (?:are |remain )?(?:sharp|clear)",),
}

# A sentence that calls the whole study normal without naming a finding ("No acute cardiopulmonary
# abnormality.", "Normal left knee radiograph.", "No evidence of active disease."). Radiologists write
# the same verdict many ways; drafts treat them as one statement. Only read where no finding is named,
# so "No acute fracture." stays a statement about fractures.
_VERDICT_NOUN = r"(?:abnormalit(?:y|ies)|findings?|disease|process(?:es)?|pathology|changes?)"
NORMAL_STUDY = (
    r"\bno (?:(?:radiographic )?(?:evidence|signs?) of )?(?:acute|active)\b[^.;]*\b" + _VERDICT_NOUN + r"\b",
    r"\bnegative for (?:acute|active) (?:[\w-]+ ){0,2}" + _VERDICT_NOUN + r"\b",
    r"^(?:\w+ )?(?:normal|unremarkable|negative) (?:[\w-]+ ){0,3}(?:radiographs?|study|studies|examination|exam|"
    r"x-?rays?|films?|series|views?|chest)\b",
)

# Modifier categories radsearch adds to medspaCy's own (NEGATED_EXISTENCE, POSSIBLE_EXISTENCE,
# HISTORICAL, HYPOTHETICAL, FAMILY): (literal, category, direction, spaCy token pattern or None).
_SEEN = {"LOWER": {"IN": ["seen", "noted", "visible", "demonstrated", "identified", "evident", "present",
                          "appreciated", "apparent"]}}
_CHANGE = {"LOWER": {"IN": ["change", "changes", "interval"]}}
EXTRA_MODIFIERS = (
    # "No change in the left pleural effusion": the effusion is still there
    ("no change in", "UNCHANGED", "FORWARD",
     [{"LOWER": {"IN": ["no", "without"]}}, {"LOWER": {"IN": ["significant", "interval", "appreciable"]}, "OP": "*"},
      _CHANGE, {"LOWER": {"IN": ["in", "of", "to"]}}]),
    ("unchanged", "UNCHANGED", "BIDIRECTIONAL", [{"LOWER": {"IN": ["unchanged", "stable", "persistent",
                                                                   "persisting", "persists", "persist",
                                                                   "redemonstrated", "re-demonstrated",
                                                                   "similar", "again", "remains", "remain",
                                                                   "residual", "ongoing"]}}]),
    ("not significantly changed", "UNCHANGED", "BACKWARD",
     [{"LOWER": {"IN": ["not", "has", "have"]}},
      {"LOWER": {"IN": ["significantly", "substantially", "not"]}, "OP": "*"},
      {"LOWER": {"IN": ["changed", "change"]}}]),
    # "Interval resolution of pneumothorax", "The effusion has resolved", "no longer seen"
    ("resolution of", "RESOLVED", "FORWARD",
     [{"LOWER": {"IN": ["resolution", "resolving", "clearing", "clearance"]}}, {"LOWER": "of", "OP": "?"}]),
    ("resolved", "RESOLVED", "BIDIRECTIONAL", [{"LOWER": {"IN": ["resolved", "cleared"]}}]),
    ("no longer seen", "RESOLVED", "BACKWARD", [{"LOWER": "no"}, {"LOWER": "longer"}, _SEEN]),
    ("no longer", "RESOLVED", "FORWARD", [{"LOWER": "no"}, {"LOWER": "longer"}]),
    # uncertainty radiologists write that medspaCy's list lacks
    ("cannot exclude", "POSSIBLE_EXISTENCE", "FORWARD",
     [{"LOWER": {"IN": ["cannot", "can't", "not", "difficult", "unable"]}}, {"LOWER": "to", "OP": "?"},
      {"LOWER": {"IN": ["exclude", "excluded", "rule", "ruled"]}}, {"LOWER": "out", "OP": "?"}]),
    ("can not exclude", "POSSIBLE_EXISTENCE", "FORWARD",
     [{"LOWER": "can"}, {"LOWER": "not"}, {"LOWER": {"IN": ["exclude", "rule"]}}, {"LOWER": "out", "OP": "?"}]),
    ("cannot be excluded", "POSSIBLE_EXISTENCE", "BACKWARD",
     [{"LOWER": {"IN": ["cannot", "can't", "not"]}}, {"LOWER": "be", "OP": "?"},
      {"LOWER": {"IN": ["excluded", "ruled"]}}, {"LOWER": "out", "OP": "?"}]),
    ("can not be excluded", "POSSIBLE_EXISTENCE", "BACKWARD",
     [{"LOWER": "can"}, {"LOWER": "not"}, {"LOWER": "be"}, {"LOWER": {"IN": ["excluded", "ruled"]}},
      {"LOWER": "out", "OP": "?"}]),
    ("questionable", "POSSIBLE_EXISTENCE", "FORWARD",
     [{"LOWER": {"IN": ["questionable", "equivocal", "suspected", "suspicious", "concerning",
                        "suggestive", "favor", "favored", "versus", "vs"]}},
      {"LOWER": {"IN": ["for", "of"]}, "OP": "?"}]),
    ("may represent", "POSSIBLE_EXISTENCE", "FORWARD",
     [{"LOWER": {"IN": ["may", "might", "could", "can"]}}, {"LOWER": {"IN": ["represent", "reflect", "be",
                                                                              "indicate", "suggest"]}}]),
    ("is not excluded", "POSSIBLE_EXISTENCE", "BACKWARD",
     [{"LOWER": {"IN": ["is", "are"]}}, {"LOWER": "not"}, {"LOWER": {"IN": ["entirely", "completely", "totally"]},
                                                           "OP": "?"}, {"LOWER": "excluded"}]),
    ("rule-out", "POSSIBLE_EXISTENCE", "FORWARD",
     [{"LOWER": "rule"}, {"ORTH": "-"}, {"LOWER": "out"}]),
    # negation written after the finding
    ("is not seen", "NEGATED_EXISTENCE", "BACKWARD",
     [{"LOWER": {"IN": ["is", "are", "was", "were"]}}, {"LOWER": "not", "OP": "?"},
      {"LOWER": {"IN": ["seen", "identified", "present", "visualized", "evident", "appreciated", "detected"]}}]),
    ("absent", "NEGATED_EXISTENCE", "BACKWARD", [{"LOWER": {"IN": ["absent", "excluded"]}}]),
    ("negative", "NEGATED_EXISTENCE", "BACKWARD", [{"LOWER": {"IN": ["negative"]}}]),
)
# Side: a word up to SIDE_SCOPE tokens before the finding ("left lower lobe consolidation"), or up to
# SIDE_SCOPE_AFTER after it ("consolidation in the posterior segment of the right lower lobe"), within its
# clause. Read outside ConText on purpose:
# as ConText modifiers, side words would cut the scope of a negation ("No left effusion").
SIDE_WORDS = {"left": "left", "lt": "left", "left-sided": "left", "right": "right", "rt": "right",
              "right-sided": "right", "bilateral": "bilateral", "bibasilar": "bilateral", "bibasal": "bilateral",
              "bilaterally": "bilateral", "both": "bilateral"}
SIDE_SCOPE = 4
SIDE_SCOPE_AFTER = 8
CLAUSE_BREAKS = {",", ";", ".", "and", "but", "with", "or", "however", "while", "whereas"}
# medspaCy defaults radsearch drops: "resolved" is its own status here, not a negation, and
REPLACED_DEFAULTS = {"resolved", "now resolved", "no longer present",
                     ": no", ": none"}  # clinical-note "Fever: no"; after a report header it would eat the "No"
