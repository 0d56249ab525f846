"""Datasets carrying a distinctive value in every attribute of DICOM PS3.15 Table E.1-1, for privacy tests.

Each planted value holds a token unique to its attribute (or, for dates and ages, a value no other
attribute has), so finding the token anywhere in a written file names the attribute that leaked.
"""

from __future__ import annotations

from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset

from radsearch.imaging.deid_profile import Profile

FREE_TEXT = "fall at 12 Main St, seen by Dr. Quixbottom 2024-01-05 MRN 7731904"  # what cleaning must empty
FREE_TEXT_TOKENS = ("Main St", "Quixbottom", "2024-01-05", "7731904")
TEXT_VRS = {"LO", "LT", "ST", "UT", "UC"}


def planted_value(tag: int, vr: str, n: int) -> tuple[object, str] | None:
    """(value, token to look for) for one attribute, or None where no greppable value fits its VR."""
    token = f"Q{n:04d}X"
    values = {
        "PN": (f"Quix{n:04d}^Zelda", f"Quix{n:04d}"), "LO": (f"id {token}", token), "SH": (token, token),
        "CS": (token, token), "AE": (token, token), "LT": (f"note {token}", token), "ST": (f"note {token}", token),
        "UT": (f"note {token}", token), "UC": (f"note {token}", token), "UR": (f"http://{token}.example/", token),
        "UI": (f"1.2.826.0.1.3680043.10.777.{n}", f"1.2.826.0.1.3680043.10.777.{n}"),
        "DA": (f"1931{n % 12 + 1:02d}{n % 28 + 1:02d}", f"1931{n % 12 + 1:02d}{n % 28 + 1:02d}"),
        "DT": (f"1931{n % 12 + 1:02d}{n % 28 + 1:02d}0102", f"1931{n % 12 + 1:02d}{n % 28 + 1:02d}0102"),
        "AS": ("093Y", "093Y"),
    }
    return values.get(vr)


def plant_table(ds: Dataset, profile: Profile | None = None) -> dict[int, tuple[str, str]]:
    """Put a distinctive value in every single-tag attribute of Table E.1-1 that has a textual VR.

    Returns tag -> (VR, token). Command (0000) and file meta (0002) attributes are left out.
    """
    planted: dict[int, tuple[str, str]] = {}
    for n, tag in enumerate(sorted((profile or Profile()).listed())):
        if tag >> 16 in (0x0000, 0x0002):  # command set and file meta: never in a stored dataset
            continue
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            continue
        found = planted_value(tag, vr, n)
        if found is None:
            continue
        value, token = found
        ds.add_new(tag, vr, value)
        planted[tag] = (vr, token)
    return planted
