"""Negation in text queries: what follows "without", "no", "but not" is what results should not show."""

from __future__ import annotations

import pytest

from radsearch.search.query import parse_text_query


@pytest.mark.parametrize("text, positive, negated", [
    ("effusion without pneumothorax", "effusion", ["pneumothorax"]),
    ("left pleural effusion, no pneumothorax or nodule", "left pleural effusion", ["pneumothorax", "nodule"]),
    ("Cardiomegaly but not effusion", "Cardiomegaly", ["effusion"]),
    ("Consolidation; negative for pneumothorax.", "Consolidation", ["pneumothorax"]),
    ("nodule without effusion and with cardiomegaly", "nodule, cardiomegaly", ["effusion"]),
    ("small left pleural effusion", "small left pleural effusion", []),
    ("no pneumothorax", "", ["pneumothorax"]),
])
def test_negated_phrases_are_split_from_the_wanted_findings(text, positive, negated):
    query = parse_text_query(text)
    assert (query.positive, query.negated) == (positive, negated)


def test_words_that_merely_contain_a_cue_are_not_negations():
    query = parse_text_query("nodular opacity, notable cardiomegaly")
    assert query.negated == [] and query.positive == "nodular opacity, notable cardiomegaly"
