"""Search quality with the demo's trained encoders, on test-split patients never seen in training."""

from __future__ import annotations

import numpy as np
import pytest

from radsearch import open_library
from radsearch.datasets import read_manifest


@pytest.fixture(scope="module")
def demo(demo_dir):
    return open_library(demo_dir / "library"), read_manifest(demo_dir / "archive" / "manifest.csv")


def test_effusion_images_find_mostly_effusion_neighbours(demo):
    lib, records = demo
    queries = [r for r in records if r.split == "test" and "pleural_effusion" in r.labels]
    assert len(queries) >= 10
    shares = []
    for query in queries:
        hits = lib.search.image(query.path, k=10, where={"patient_id": {"not": query.patient_id}})
        shares.append(np.mean(["pleural_effusion" in h.labels for h in hits]))
    assert np.mean(shares) > 0.6, f"only {np.mean(shares):.2f} of neighbours share the effusion label"


def test_text_pleural_effusion_ranks_effusion_images_above_normal_ones(demo):
    lib, records = demo
    n_chest = sum(r.body_part == "CHEST" for r in records)
    hits = lib.search.text("pleural effusion", k=n_chest, where={"body_part": "CHEST"})
    effusion = [rank for rank, h in enumerate(hits) if "pleural_effusion" in h.labels]
    normal = [rank for rank, h in enumerate(hits) if not h.labels]
    assert effusion and normal
    # what a user sees first: the top of the list is effusion (measured 10/10 and 30/30 on seed 0; seeds 1, 2 pass)
    assert sum("pleural_effusion" in h.labels for h in hits[:10]) >= 8
    assert sum("pleural_effusion" in h.labels for h in hits[:30]) >= 20
    # and over the whole chest ranking, effusion beats normal far more often than chance (measured 0.958)
    above = np.mean([[e < n for n in normal] for e in effusion])
    assert above > 0.6, f"effusion above normal in only {above:.2f} of pairs"


def test_hand_query_returns_hands(demo):
    lib, records = demo
    hand = next(r for r in records if r.split == "test" and r.body_part == "HAND")
    hits = lib.search.image(hand.path, k=5, where={"patient_id": {"not": hand.patient_id}})
    assert all(h.metadata["body_part"] == "HAND" for h in hits)


# Where reports exist they decide: a case whose report states the negated finding goes below every other
# candidate, one whose report does not keeps its plain score, so a negation never shows more such cases
# than the plain query and keeps the wanted ones. Checked on demo seeds 0, 1 and 2. With the embedding
# penalty alone, "nodule without consolidation" put 3 consolidation cases in the top 10 against 2 plain
# (seed 0), and penalising reported cases by embedding too cut seed 2's nodule cases from 8 to 3.
NEGATED_QUERIES = [("pleural effusion", "pneumothorax"), ("pleural effusion", "cardiomegaly"),
                   ("cardiomegaly", "pleural effusion"), ("consolidation", "pleural effusion"),
                   ("nodule", "consolidation"), ("pneumothorax", "pleural effusion")]


@pytest.mark.parametrize(("wanted", "unwanted"), NEGATED_QUERIES)
def test_a_negated_finding_never_gains_places_over_the_plain_query(demo, wanted, unwanted):
    lib, _ = demo
    where = {"body_part": "CHEST"}
    plain = lib.search.text(wanted, k=30, where=where)
    negated = lib.search.text(f"{wanted} without {unwanted}", k=30, where=where)
    label = unwanted.replace(" ", "_")

    def count(hits):
        return sum(label in h.labels for h in hits)

    for k in (10, 30):  # what a reader sees first, and the page behind it
        assert count(negated[:k]) <= count(plain[:k]), f"{count(negated[:k])} vs {count(plain[:k])} in the top {k}"
    wanted_label = wanted.replace(" ", "_")
    assert sum(wanted_label in h.labels for h in negated[:10]) >= sum(wanted_label in h.labels for h in plain[:10]) - 2


def test_report_hits_highlight_a_sentence_about_the_query(demo):
    lib, _ = demo
    hits = lib.search.reports("pleural effusion", k=5)
    assert sum("effusion" in hit.why.sentence.lower() for hit in hits) >= 4
