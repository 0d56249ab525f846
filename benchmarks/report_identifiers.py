"""Identifiers in report text: recall and precision of radsearch's placeholders on planted identifiers.

How the test set is made (seeded, nothing read from disk): clinical report text comes from radsearch's
synthetic report generator (chest and musculoskeletal, with negations and measurements). Into each
report one to three sentences are planted from the templates below, in the phrasings reports use for
notifications, signatures, comparisons and history, filled with names, dates, times, numbers and
addresses drawn from lists written for this benchmark (not from the rules being measured). Every
planted value's character span is recorded. Some templates are ones the rules are known to miss (a bare
surname, a lowercase name, "the 5th"), so the recall is not a property of the templates alone.

Scoring: a planted identifier is found when every one of its characters lies inside a replaced span
(recall, per kind, and whether the placeholder's type was right); precision is the share of replaced
characters that belong to a planted identifier. The peer in the same run is a blunt rule that replaces
every capitalised word not starting a sentence and every run of digits.

    python benchmarks/report_identifiers.py [--reports 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

import numpy as np

from radsearch.datasets.reports import chest_report, msk_report
from radsearch.text_identifiers import find_identifiers

FIRST = ["Jane", "Omar", "Priya", "Liam", "Chen", "Amara", "Tomasz", "Ingrid", "Kwame", "Sofia", "Hiroshi", "Aoife"]
LAST = ["Smith", "Okafor", "Patel", "Nguyen", "O'Brien", "Kowalski", "Haddad", "Lindqvist", "Mensah", "Garcia-Lopez",
        "Tanaka", "Fitzgerald", "Wong", "Jones"]
STREETS = ["Main St", "Kings Road", "Elm Street", "Harbour Lane", "Victoria Avenue", "Mill Close"]
MONTHS = ["January", "Feb", "March", "Apr", "May", "June", "Jul", "August", "Sept", "October", "Nov", "December"]
TEMPLATES = [  # (sentence with {slots}, kinds of its slots)
    ("Findings discussed with Dr. {last} at {time} on {date}.", ("NAME", "TIME", "DATE")),
    ("Results communicated to {first} {last}, RN, by telephone at {time}.", ("NAME", "NAME", "TIME")),
    ("Electronically signed by {first} {last}, MD on {date} {time}.", ("NAME", "NAME", "DATE", "TIME")),
    ("Comparison is made with the radiograph of {date}.", ("DATE",)),
    ("Comparison: {mdate}.", ("DATE",)),
    ("MRN: {mrn}. Accession # {acc}.", ("ID", "ID")),
    ("Please page the reading room on {pager} or call {phone}.", ("PHONE", "PHONE")),
    ("Patient lives at {number} {street}.", ("ADDRESS",)),
    ("Contact the referring team at {email}.", ("EMAIL",)),
    ("{age}-year-old with a fall at home.", ("AGE",)),
    ("Dictated by Dr {last} and reviewed with Prof. {last2}.", ("NAME", "NAME")),
    ("Case reviewed with {initial}. {last} in the department.", ("NAME", "NAME")),
    ("Patient name: {last}^{first}.", ("NAME", "NAME")),
    ("Called to {last} on the ward.", ("NAME",)),
    ("Wet read given to {last} by phone.", ("NAME",)),  # a bare surname: no title, no trigger the rules know
    ("discussed with dr. {lower} this morning.", ("NAME",)),  # lowercase
    ("Prior study from the {nth} shows the same.", ("DATE",)),  # a day with no month
    ("Visit number {visit}, record {mrn}.", ("ID", "ID")),
]
SLOT = re.compile(r"\{(\w+)\}")


def fill(rng: np.random.Generator, template: str) -> tuple[str, list[tuple[int, int, str]]]:
    """The sentence and the (start, end, slot) span of every planted value."""
    values = {
        "first": str(rng.choice(FIRST)), "last": str(rng.choice(LAST)), "last2": str(rng.choice(LAST)),
        "lower": str(rng.choice(LAST)).lower(), "initial": str(rng.choice(FIRST))[0],
        "time": rng.choice([f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}",
                            f"{rng.integers(1, 13)}:{rng.integers(0, 60):02d} pm",
                            f"{rng.integers(0, 24):02d}{rng.integers(0, 60):02d} hrs"]),
        "date": rng.choice([f"{rng.integers(1, 13)}/{rng.integers(1, 29)}/{rng.integers(2015, 2025)}",
                            f"{rng.integers(2015, 2025)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}",
                            f"{rng.integers(1, 29)} {rng.choice(MONTHS)} {rng.integers(2015, 2025)}"]),
        "mdate": f"{rng.choice(MONTHS)} {rng.integers(1, 29)}, {rng.integers(2015, 2025)}",
        "nth": f"{rng.integers(4, 21)}th",
        "mrn": str(rng.integers(10**6, 10**8)), "acc": f"ACC-{rng.integers(10**5, 10**7)}",
        "visit": f"V{rng.integers(10**5, 10**6)}",
        "pager": f"{rng.integers(1, 10)}-{rng.integers(1000, 9999)}",
        "phone": rng.choice([f"555-{rng.integers(100, 999)}-{rng.integers(1000, 9999)}",
                             f"+44 7700 {rng.integers(100000, 999999)}",
                             f"(020) {rng.integers(1000, 9999)} {rng.integers(1000, 9999)}"]),
        "number": str(rng.integers(1, 300)), "street": str(rng.choice(STREETS)),
        "email": f"{str(rng.choice(FIRST)).lower()}.{str(rng.choice(LAST)).lower().replace(chr(39), '')}@example.org",
        "age": str(rng.integers(90, 104)),
    }
    out, spans, last = [], [], 0
    for match in SLOT.finditer(template):
        out.append(template[last:match.start()])
        start = sum(len(part) for part in out)
        slot = match.group(1)
        value = values[slot]
        out.append(value)
        if slot in ("number", "street"):  # "12 Main St" is one address
            spans.append((start, start + len(value), "address-part"))
        else:
            spans.append((start, start + len(value), slot))
        last = match.end()
    out.append(template[last:])
    return "".join(out), spans


def make_set(n: int, seed: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """n reports, each with planted identifier spans (start, end, kind)."""
    rng = np.random.default_rng(seed)
    reports = []
    for i in range(n):
        if i % 3:
            findings = {name: {"side": str(rng.choice(["left", "right"])), "dy": float(rng.uniform(-0.3, 0.3)),
                               "radius": float(rng.uniform(0.01, 0.05))}
                        for name in ("pleural_effusion", "nodule", "pneumothorax", "consolidation", "cardiomegaly")
                        if rng.random() < 0.3}
            text = chest_report(rng, findings, ["PA", "LAT"])
        else:
            text = msk_report(rng, str(rng.choice(["HAND", "KNEE", "PELVIS"])), str(rng.choice(["left", "right"])))
        spans = []
        for _ in range(int(rng.integers(1, 4))):
            template, kinds = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
            sentence, slots = fill(rng, template)
            offset = len(text) + 1
            text = f"{text} {sentence}"
            merged = _merge_address(slots)
            spans += [(offset + start, offset + end, kind) for (start, end, _), kind in zip(merged, kinds)]
        reports.append((text, spans))
    return reports


def _merge_address(slots):
    out, i = [], 0
    while i < len(slots):
        if slots[i][2] == "address-part" and i + 1 < len(slots):
            out.append((slots[i][0], slots[i + 1][1], "address"))
            i += 2
        else:
            out.append(slots[i])
            i += 1
    return out


def blunt(text: str) -> list[tuple[int, int, str]]:
    """The peer: every capitalised word that does not start a sentence, and every run of digits."""
    spans = [(m.start(1), m.end(1), "NAME") for m in re.finditer(r"(?<![.:!?]\s)(?<!^)\b([A-Z][a-z'-]+)", text)]
    return spans + [(m.start(), m.end(), "ID") for m in re.finditer(r"\d+", text)]


def score(reports, finder) -> tuple[Counter, Counter, int, int]:
    found, typed, total = Counter(), Counter(), Counter()
    replaced = hit = 0
    for text, planted in reports:
        spans = finder(text)
        covered = np.zeros(len(text), bool)
        kind_at = np.full(len(text), "", dtype=object)
        for start, end, kind in spans:
            covered[start:end] = True
            kind_at[start:end] = kind
        truth = np.zeros(len(text), bool)
        for start, end, kind in planted:
            truth[start:end] = True
            total[kind] += 1
            if covered[start:end].all():
                found[kind] += 1
                typed[kind] += int(all(k == kind for k in kind_at[start:end]))
        replaced += int(covered.sum())
        hit += int((covered & truth).sum())
    return found, typed, total, (hit, replaced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    reports = make_set(args.reports, args.seed)
    ours = score(reports, lambda text: [(s.start, s.end, s.kind) for s in find_identifiers(text)])
    peer = score(reports, blunt)
    print(f"## Identifiers planted in {len(reports)} reports (seed {args.seed})\n")
    print("| kind | planted | radsearch recall | placeholder type right | blunt peer recall |")
    print("|---|---:|---:|---:|---:|")
    found, typed, total, _ = ours
    peer_found = peer[0]
    for kind in sorted(total):
        print(f"| {kind} | {total[kind]} | {found[kind] / total[kind]:.3f} | {typed[kind] / total[kind]:.3f} | "
              f"{peer_found[kind] / total[kind]:.3f} |")
    all_total = sum(total.values())
    print(f"| **all** | {all_total} | **{sum(found.values()) / all_total:.3f}** | "
          f"{sum(typed.values()) / all_total:.3f} | {sum(peer_found.values()) / all_total:.3f} |\n")
    for name, (_, _, _, (hit, replaced)) in (("radsearch", ours), ("blunt peer", peer)):
        print(f"{name}: precision (share of replaced characters that were identifiers) {hit / max(1, replaced):.3f}")


if __name__ == "__main__":
    main()
