"""Free-text radiology reports for synthetic cases: varied phrasing, findings and explicit negatives."""

from __future__ import annotations

import numpy as np

_POSITIVE = {
    "cardiomegaly": ["The heart is enlarged.", "Cardiomegaly.", "The cardiac silhouette is enlarged.",
                     "Enlarged cardiac silhouette."],
    "pleural_effusion": ["Small {side} pleural effusion.", "There is a {side} pleural effusion.",
                         "Blunting of the {side} costophrenic angle consistent with pleural effusion.",
                         "Moderate {side} pleural effusion."],
    "pneumothorax": ["{Side} apical pneumothorax.", "There is a {side} pneumothorax.",
                     "A {side} pneumothorax is present with a visible pleural line."],
    "nodule": ["A {size} nodule in the {side} {zone} zone.", "Rounded opacity in the {side} {zone} zone, "
               "likely a pulmonary nodule.", "{Side} {zone} zone pulmonary nodule."],
    "consolidation": ["Airspace consolidation in the {side} {zone} zone.",
                      "Patchy opacity in the {side} lung consistent with consolidation.",
                      "{Side} {zone} zone consolidation."],
}
_NEGATIVE = {
    "cardiomegaly": ["The heart is normal in size.", "Cardiac silhouette is within normal limits.",
                     "Normal heart size."],
    "pleural_effusion": ["No pleural effusion.", "No effusion.", "The costophrenic angles are sharp."],
    "pneumothorax": ["No pneumothorax.", "There is no pneumothorax."],
    "nodule": ["No suspicious pulmonary nodule.", ""],
    "consolidation": ["The lungs are clear.", "No focal consolidation.", "No airspace opacity."],
}
_IMPRESSION = {
    "cardiomegaly": "Cardiomegaly.",
    "pleural_effusion": "{Side} pleural effusion.",
    "pneumothorax": "{Side} pneumothorax.",
    "nodule": "{Side} pulmonary nodule; recommend CT follow-up.",
    "consolidation": "{Side} {zone} zone consolidation, possibly pneumonia.",
}
_NORMAL_IMPRESSION = ["No acute cardiopulmonary abnormality.", "Normal chest radiograph.",
                      "No acute cardiopulmonary process."]
_MSK = {
    "HAND": ["No acute fracture or dislocation of the {side} hand.", "Joint spaces are preserved.",
             "Soft tissues are unremarkable."],
    "KNEE": ["No fracture of the {side} knee.", "Joint spaces are maintained.", "No joint effusion."],
    "PELVIS": ["No pelvic fracture.", "Both hip joints are congruent.", "Sacroiliac joints are normal."],
}


def _fill(template: str, params: dict) -> str:
    side = params.get("side", "")
    zone = {-1: "upper", 0: "mid", 1: "lower"}.get(int(np.sign(round(params.get("dy", 0.0), 1))), "mid")
    size = f"{max(4, int(params.get('radius', 0.02) * 400))} mm"
    return template.format(side=side, Side=side.capitalize(), zone=zone, size=size)


def chest_report(rng: np.random.Generator, findings: dict[str, dict], views: list[str]) -> str:
    """FINDINGS then IMPRESSION, with each finding stated or explicitly negated."""
    sentences = []
    for name in _POSITIVE:
        if name in findings:
            sentences.append(_fill(str(rng.choice(_POSITIVE[name])), findings[name]))
        else:
            sentences.append(str(rng.choice(_NEGATIVE[name])))
    sentences = [s for s in sentences if s]
    order = rng.permutation(len(sentences))
    technique = "PA and lateral views of the chest." if "LAT" in views else "PA view of the chest."
    body = " ".join(sentences[i] for i in order)
    if findings:
        impression = " ".join(_fill(_IMPRESSION[n], findings[n]) for n in _IMPRESSION if n in findings)
    else:
        impression = str(rng.choice(_NORMAL_IMPRESSION))
    return f"EXAMINATION: {technique} FINDINGS: {body} IMPRESSION: {impression}"


def msk_report(rng: np.random.Generator, body_part: str, side: str) -> str:
    sentences = [s.format(side=side) for s in _MSK[body_part]]
    rng.shuffle(sentences)
    part = body_part.lower()
    where = f"{side} {part}" if side else part
    return (f"EXAMINATION: Radiographs of the {where}. FINDINGS: {' '.join(sentences)} "
            f"IMPRESSION: Normal {where} radiograph.")
