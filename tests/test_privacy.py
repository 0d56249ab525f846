"""Pseudonyms: one per identifier and salt, stable, and never the identifier itself."""

from __future__ import annotations

import pytest

from radsearch.privacy import Pseudonymizer, new_salt


def test_same_identifier_same_pseudonym_and_salts_separate_libraries():
    one, other = Pseudonymizer(new_salt()), Pseudonymizer(new_salt())
    assert one("MRN-1") == one(" MRN-1 ") != one("MRN-2")
    assert one("MRN-1") != other("MRN-1")
    assert "MRN" not in one("MRN-1") and one("MRN-1").startswith("anon-")


def test_a_pseudonym_maps_to_itself_so_hits_can_be_fed_back_as_filters():
    one = Pseudonymizer(new_salt())
    assert one(one("MRN-1")) == one("MRN-1")
    assert one(None) is None and one("  ") is None


def test_keeping_identifiers_is_explicit_and_pseudonyms_need_a_salt():
    assert Pseudonymizer("", keep_identifiers=True)("MRN-1") == "MRN-1"
    with pytest.raises(ValueError, match="salt"):
        Pseudonymizer("")
