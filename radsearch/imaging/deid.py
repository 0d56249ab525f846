"""De-identified copies of DICOM files for sharing (DICOM PS3.15 Basic Application Level Confidentiality Profile).

Every attribute of Table E.1-1 gets its action (deid_profile), at every depth of nested sequences;
private tags are removed unless the safe-private list keeps them. Replacements are keyed with a salt:
UIDs are remapped to the same new UID in every file and every run with that salt (so studies and series
stay together), patient IDs become one pseudonym per patient, and with the modified-dates option all
dates move by the same whole number of days. Free text that an option asks to clean (C) keeps its words
but loses the names, dates, numbers and addresses in it (text_identifiers). Pixels: text burned into
them is found by OCR (burned_in) and either masked (clean-pixels) or the file is skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import generate_uid
from tqdm import tqdm

from ..files import atomic_path
from ..text_identifiers import scrub
from . import burned_in
from .deid_profile import Profile
from .reader import sniff

log = logging.getLogger(__name__)

METHOD = "radsearch deid: PS3.15 E.1-1 basic profile"  # LO: at most 64 characters
_DUMMY_TEXT = "REMOVED"
_MAX_LENGTH = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64, "DS": 16, "IS": 12, "AS": 4}
_STRING_VRS = {"AE", "AS", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"}
_NUMBER_VRS = {"FD", "FL", "SS", "US", "SL", "UL", "SV", "UV"}
_PSEUDONYMISED = {0x00100020}  # Patient ID (Z): a keyed pseudonym keeps a patient's files together


@dataclass
class DeidSummary:
    written: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> files
    masked: int = 0  # files whose burned-in text was masked (clean-pixels)
    out: Path = Path()

    def __str__(self) -> str:
        parts = [f"wrote {self.written} de-identified DICOM files to {self.out}"]
        if self.masked:
            parts.append(f"burned-in text masked in {self.masked}")
        parts += [f"{n} skipped: {reason}" for reason, n in sorted(self.skipped.items())]
        return "; ".join(parts)


class Deidentifier:
    """Applies Table E.1-1 under the chosen options, with replacements keyed by `salt`.

    safe_private: (private creator, element offset) pairs to keep, e.g. ("SIEMENS CSA HEADER", 0x10);
    every other private element is removed.
    """

    def __init__(self, salt: str, options: Iterable[str] = (), safe_private: Iterable[tuple[str, int]] = ()):
        self.profile = Profile(options)
        self.options = set(self.profile.options)
        self._key = salt.encode()
        self._safe_private = {(creator.strip().upper(), offset & 0xFF) for creator, offset in safe_private}
        days = int.from_bytes(self._digest("date shift")[:4], "big") % 3650 + 365
        self.date_shift = dt.timedelta(days=-days)  # one to eleven years back, the same for every file
        self._names: list[str] = []

    def __call__(self, ds: Dataset) -> Dataset:
        """De-identify `ds` in place and return it, with the method recorded as the standard asks."""
        self._names = _person_names(ds)  # cleaned text loses these wherever they appear
        self._clean(ds)
        if hasattr(ds, "file_meta") and "MediaStorageSOPInstanceUID" in ds.file_meta:
            ds.file_meta.MediaStorageSOPInstanceUID = self.uid(str(ds.file_meta.MediaStorageSOPInstanceUID))
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = METHOD
        ds.DeidentificationMethodCodeSequence = pydicom.Sequence([_code(*code) for code in self.profile.codes()])
        if "modified-dates" in self.options:
            ds.LongitudinalTemporalInformationModified = "MODIFIED"
        elif "full-dates" in self.options:
            ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
        else:
            ds.LongitudinalTemporalInformationModified = "REMOVED"
        return ds

    def uid(self, value: str) -> str:
        """The new UID for `value`: the same for every file and run with this salt."""
        return generate_uid(prefix="2.25.", entropy_srcs=[self._key.decode(), value])

    def written_name(self, ds: Dataset) -> tuple[str, str, str] | None:
        """(study, series, SOP instance) UIDs the copy of `ds` will carry, known before it is made, or None
        without a SOP Instance UID. With a fixed salt they are the same on every run: a re-run finds the
        copies already written and skips them."""
        if "SOPInstanceUID" not in ds:
            return None
        names = []
        for keyword, missing in (("StudyInstanceUID", "no-study"), ("SeriesInstanceUID", "no-series"),
                                 ("SOPInstanceUID", "")):
            value = str(ds.get(keyword, "") or "")
            tag = pydicom.datadict.tag_for_keyword(keyword)
            names.append(self.uid(value) if value and self.profile.action(tag) == "U" else value or missing)
        return names[0], names[1], names[2]

    def _digest(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode(), hashlib.sha256).digest()

    def _clean(self, ds: Dataset) -> None:
        private_creators = {elem.tag: str(elem.value).strip().upper() for elem in ds
                            if elem.tag.is_private and 0x10 <= elem.tag.element <= 0xFF}
        for elem in list(ds):
            tag = elem.tag
            if tag.is_private:
                if not self._keeps_private(tag, private_creators):
                    del ds[tag]
                continue
            action = self.profile.action(int(tag))
            if action is None or action == "K":
                if elem.VR == "SQ":
                    for item in elem.value:
                        self._clean(item)
                continue
            self._apply(ds, elem, action)

    def _keeps_private(self, tag, creators: dict) -> bool:
        if not self._safe_private:
            return False
        if tag.element <= 0xFF:  # a creator element: kept when something in its block is
            return any(creator == creators.get(tag) for creator, _ in self._safe_private)
        creator = creators.get(pydicom.tag.Tag(tag.group, tag.element >> 8))
        return (creator, tag.element & 0xFF) in self._safe_private

    def _apply(self, ds: Dataset, elem: DataElement, action: str) -> None:
        """One element under one action code of Table E.1-1."""
        if action == "X":
            del ds[elem.tag]
        elif action in ("Z", "X/Z"):
            self._empty(elem)
        elif action in ("D", "Z/D", "X/D", "X/Z/D"):  # a dummy keeps Type 1 attributes present and valid
            self._dummy(elem)
        elif action in ("U", "X/Z/U*"):
            self._new_uids(elem)
        elif action == "C":
            self._cleaned(elem)
        else:
            raise ValueError(f"unknown Table E.1-1 action {action!r} for {elem.tag}")

    def _empty(self, elem: DataElement) -> None:
        if int(elem.tag) in _PSEUDONYMISED and elem.value:
            elem.value = "anon-" + self._digest(str(elem.value)).hex()[:11]  # LO 64; Z allows a dummy
        elif elem.VR == "SQ":
            elem.value = pydicom.Sequence([])
        else:
            elem.value = None

    def _dummy(self, elem: DataElement) -> None:
        vr = elem.VR
        if int(elem.tag) in _PSEUDONYMISED:
            self._empty(elem)
        elif vr == "SQ":
            for item in elem.value:
                for inner in list(item):
                    if inner.tag.is_private:
                        del item[inner.tag]
                    else:
                        self._dummy(inner)
        elif vr == "UI":
            self._new_uids(elem)
        elif vr in ("DA", "DT"):
            elem.value = self._shifted(elem) if "modified-dates" in self.options else (
                "19000101" if vr == "DA" else "19000101000000")
        elif vr == "TM":
            elem.value = elem.value if "modified-dates" in self.options else "000000"
        elif vr == "AS":
            elem.value = "000Y"
        elif vr in ("DS", "IS"):
            elem.value = "0"
        elif vr in _NUMBER_VRS:
            elem.value = 0
        elif vr in _STRING_VRS:
            elem.value = "ANONYMOUS" if vr == "PN" else _DUMMY_TEXT[:_MAX_LENGTH.get(vr, 64)]
        else:  # OB, OW, UN...: no dummy carries meaning, so none is kept
            elem.value = b"\x00\x00"

    def _new_uids(self, elem: DataElement) -> None:
        if elem.VR == "UI":
            if elem.VM > 1:
                elem.value = [self.uid(str(v)) for v in elem.value]
            elif elem.value:
                elem.value = self.uid(str(elem.value))
        elif elem.VR == "SQ":  # U*: the UIDs inside are replaced, the rest follows the profile
            for item in elem.value:
                for inner in list(item):
                    if inner.VR == "UI":
                        self._new_uids(inner)
                self._clean(item)
        else:
            self._empty(elem)

    def _cleaned(self, elem: DataElement) -> None:
        """C: "replace with values of similar meaning known not to contain identifying information"."""
        vr = elem.VR
        if vr == "SQ":
            for item in elem.value:
                self._clean(item)
                for inner in list(item):
                    if inner.VR in ("LO", "LT", "SH", "ST", "UT", "UC"):
                        self._cleaned(inner)
        elif vr in ("DA", "DT"):
            if "modified-dates" in self.options:
                elem.value = self._shifted(elem)
            elif "full-dates" not in self.options:
                self._dummy(elem)
        elif vr in ("LO", "LT", "SH", "ST", "UT", "UC"):
            values = elem.value if elem.VM > 1 else [elem.value]
            cleaned = [scrub(str(v), self._names)[:_MAX_LENGTH.get(vr, 10240)] if v is not None else v for v in values]
            elem.value = cleaned if elem.VM > 1 else cleaned[0]
        elif vr == "PN":
            self._dummy(elem)
        # TM, numbers, codes: kept; they carry no identity once dates are shifted

    def _shifted(self, elem: DataElement) -> str | None:
        text = str(elem.value or "")
        if len(text) < 8 or not text[:8].isdigit():
            return None
        try:
            day = dt.datetime.strptime(text[:8], "%Y%m%d") + self.date_shift
        except ValueError:
            return None
        return day.strftime("%Y%m%d") + text[8:]


def _person_names(ds: Dataset) -> list[str]:
    """Every person name in the dataset, at any depth (patient, physicians, operators)."""
    names: list[str] = []

    def collect(_dataset: Dataset, elem: DataElement) -> None:
        if elem.VR == "PN" and elem.value:
            names.extend(str(v) for v in (elem.value if elem.VM > 1 else [elem.value]))

    ds.walk(collect)
    return names


def deidentify_tree(source: str | Path, out: str | Path, salt: str | None = None, allow_burned_in: bool = False,
                    options: Iterable[str] = (), safe_private: Iterable[tuple[str, int]] = (),
                    progress: bool = True) -> DeidSummary:
    """Write a de-identified copy of every DICOM file under `source` to `out`/STUDY/SERIES/SOP.dcm.

    Output names come from the new UIDs, never from the input paths (folder names often hold names).
    The same `salt` gives the same pseudonyms, UIDs and date shift on every run; without one a random
    salt is used, so later runs will not link to this one. Options are deid_profile.OPTIONS' names.
    Pixels are read by OCR: with "clean-pixels" the text found is masked, otherwise a file showing text
    (or flagged BurnedInAnnotation=YES) is skipped unless `allow_burned_in`. With a fixed salt an
    interrupted run resumes: copies already in `out` are not made again.
    """
    source, out = Path(source), Path(out)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist; give a DICOM file or a folder of them")
    if out.resolve().is_relative_to(source.resolve()) and source.is_dir():
        raise ValueError(f"{out} is inside {source}: write de-identified copies outside the source archive")
    deidentifier = Deidentifier(salt or secrets.token_hex(16), options, safe_private)
    if not allow_burned_in and not burned_in.available():
        raise burned_in.OcrUnavailable("radsearch deid reads the pixels for burned-in text with Tesseract, which is "
                                       "not installed: apt-get install tesseract-ocr (or pass --allow-burned-in "
                                       "after reviewing the images yourself)")
    summary = DeidSummary(out=out)
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for path in tqdm(files, desc="deid", unit="file", disable=not progress):
        reason = _copy(path, out, deidentifier, allow_burned_in, summary)
        if reason:
            summary.skipped[reason] += 1
            log.info("%s skipped: %s", path, reason)
        else:
            summary.written += 1
    return summary


def _copy(path: Path, out: Path, deidentifier: Deidentifier, allow_burned_in: bool,
          summary: DeidSummary) -> str | None:
    """De-identify one file into `out`; returns why it was skipped, or None once written."""
    with open(path, "rb") as fh:
        head = fh.read(132)
    if sniff(head) != "dicom" and path.suffix.lower() not in (".dcm", ".dicom"):
        return "not a DICOM file"
    if path.name.upper() == "DICOMDIR":
        return "DICOMDIR index (it lists original paths; copy the images, not the index)"
    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, ValueError, EOFError) as e:
        return f"unreadable DICOM ({type(e).__name__})"
    name = deidentifier.written_name(ds)
    if name is None:
        return "no SOP Instance UID (not a stored DICOM instance)"
    target = out / name[0] / name[1] / f"{name[2]}.dcm"
    if target.is_file():
        return "already written by an earlier run with the same salt"
    cleaning = "clean-pixels" in deidentifier.options
    if "PixelData" in ds and (cleaning or not allow_burned_in):
        try:
            frames = _frames(ds)
        except Exception as e:  # a decoder's own error: the file cannot be checked, so it is not copied
            return f"pixels could not be decoded to look for burned-in text ({type(e).__name__})"
        found = burned_in.find_text_many(frames)
        if any(found) and cleaning:
            _store_frames(ds, [burned_in.masked_until_unreadable(frame, boxes)[0] if boxes else frame
                               for frame, boxes in zip(frames, found)])
            ds.BurnedInAnnotation = "NO"
            summary.masked += 1
        elif not allow_burned_in and (any(found) or str(ds.get("BurnedInAnnotation", "")).upper() == "YES"):
            words = " ".join(box.text for boxes in found for box in boxes)[:40]
            why = f"OCR read {words!r}" if words else "flagged BurnedInAnnotation=YES"
            return (f"burned-in text ({why}; pass --option clean-pixels to mask it, or review and pass "
                    "--allow-burned-in)")
    deidentifier(ds)
    with atomic_path(target, durable=False) as tmp:  # the copy can be made again from the source
        ds.save_as(tmp, enforce_file_format=True)
    return None


def _frames(ds: Dataset) -> list[np.ndarray]:
    """The stored values of every frame (2-D each; colour images as they are stored)."""
    pixels = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return list(pixels) if frames > 1 else [pixels]


def _store_frames(ds: Dataset, frames: list[np.ndarray]) -> None:
    """Replace the pixel data with `frames`, uncompressed (a masked image is never re-encoded lossily)."""
    pixels = np.stack(frames) if len(frames) > 1 else frames[0]
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric.startswith("YBR"):
        photometric = "RGB"  # pixel_array converted YBR to RGB
    ds.set_pixel_data(np.ascontiguousarray(pixels), photometric, int(ds.get("BitsStored", pixels.itemsize * 8)))


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
    return item
