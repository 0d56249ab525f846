"""DICOM PS3.15 Table E.1-1 as rules: the action for every attribute it lists, under the options chosen.

The basic profile's column comes from dicom-anonymizer, which carries the current edition of the table
(its `dicomfields_2026c` database). The option columns, which it does not carry, are the generated
`deid_options.json` (tools/deid_options.py). Actions are the standard's codes: D (dummy), Z (empty or
dummy), X (remove), K (keep), C (clean), U (new UID), and the combinations X/Z, X/D, Z/D, X/Z/D, X/Z/U*.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

TABLE_EDITION = "dicomfields_2026c"  # dicom-anonymizer's name for the edition of Table E.1-1 it carries
BASIC = ("113100", "Basic Application Confidentiality Profile")
OPTIONS = {  # option -> (code, meaning) as PS3.16 CID 7050 names them
    "clean-pixels": ("113101", "Clean Pixel Data Option"),
    "clean-descriptors": ("113105", "Clean Descriptors Option"),
    "modified-dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "full-dates": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "patient-characteristics": ("113108", "Retain Patient Characteristics Option"),
    "device-identity": ("113109", "Retain Device Identity Option"),
    "uids": ("113110", "Retain UIDs Option"),
    "institution-identity": ("113112", "Retain Institution Identity Option"),
    "clean-structured-content": ("113104", "Clean Structured Content Option"),
    "clean-graphics": ("113103", "Clean Graphics Option"),
}
_CATEGORIES = {"D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z/D", "X_Z_TAGS": "X/Z",
               "X_D_TAGS": "X/D", "X_Z_D_TAGS": "X/Z/D", "X_Z_U_STAR_TAGS": "X/Z/U*"}
_RANK = {"K": 2, "C": 1}  # where two chosen options disagree, the one that keeps more wins (docs/privacy.md)


@dataclass(frozen=True)
class MaskedRule:
    """A rule for a repeating group such as Overlay Data (60xx,3000): tag & mask == value."""

    value: int
    mask: int
    action: str


class Profile:
    """The basic profile plus options: `action(tag)` is what to do with an attribute, None if unlisted."""

    def __init__(self, options: Iterable[str] = ()) -> None:
        self.options = tuple(sorted(set(options)))
        unknown = set(self.options) - set(OPTIONS)
        if unknown:
            raise ValueError(f"unknown de-identification option(s) {sorted(unknown)}; choose from {sorted(OPTIONS)}")
        exact, masked = _basic()
        self._exact = dict(exact)
        self._masked = list(masked)
        columns = _option_columns()
        for option in self.options:
            for key, action in columns.get(option, {}).items():
                self._override(key, action)

    def action(self, tag: int) -> str | None:
        """The action for `tag` (an int such as 0x00100010), or None when Table E.1-1 does not list it."""
        found = self._exact.get(int(tag))
        if found is not None:
            return found
        for rule in self._masked:
            if int(tag) & rule.mask == rule.value:
                return rule.action
        return None

    def codes(self) -> list[tuple[str, str]]:
        """De-identification Method Code Sequence entries: the basic profile, then each chosen option."""
        return [BASIC] + [OPTIONS[option] for option in self.options]

    def listed(self) -> dict[int, str]:
        """Every single-tag attribute of the table and its action under these options."""
        return dict(self._exact)

    def _override(self, key: str, action: str) -> None:
        if "X" in key:  # a repeating group, e.g. "60XX3000"
            value, mask = int(key.replace("X", "0"), 16), int("".join("0" if c == "X" else "F" for c in key), 16)
            self._masked = [MaskedRule(value, mask, _stronger(rule.action, action))
                            if (rule.value, rule.mask) == (value, mask) else rule for rule in self._masked]
            return
        tag = int(key, 16)
        self._exact[tag] = _stronger(self._exact.get(tag), action)


def _stronger(current: str | None, option_action: str) -> str:
    """An option's action replaces the basic one; between two options, K beats C."""
    if current in _RANK and _RANK[current] >= _RANK.get(option_action, 0):
        return current
    return option_action


@cache
def _basic() -> tuple[tuple[tuple[int, str], ...], tuple[MaskedRule, ...]]:
    database = dicom_anonymization_database_selector(TABLE_EDITION)
    exact: dict[int, str] = {}
    masked: list[MaskedRule] = []
    for category, action in _CATEGORIES.items():
        for entry in database[category]:
            if len(entry) == 2:
                exact[(entry[0] << 16) | entry[1]] = action
            else:  # (group, element, group mask, element mask)
                group, element, group_mask, element_mask = entry
                mask = (group_mask << 16) | element_mask
                masked.append(MaskedRule(((group << 16) | element) & mask, mask, action))
    return tuple(exact.items()), tuple(masked)


@cache
def _option_columns() -> dict[str, dict[str, str]]:
    return json.loads((Path(__file__).with_name("deid_options.json")).read_text())["options"]
