"""De-identified copies of DICOM files for sharing a curated subset (DICOM PS3.15 basic profile).

dicognito does the element work: names, UIDs, IDs, dates and addresses are replaced consistently for
one salt, so a patient's studies and series stay grouped across files and across runs with the same
salt. On top of it this module removes what the basic profile removes and dicognito keeps (private
tags, overlays, icon images, free-text descriptions and comments), records the method in the
header, and refuses images whose pixels carry burned-in text, which no header edit can clean.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from dicognito.anonymizer import Anonymizer
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from ..files import atomic_path
from .reader import sniff

log = logging.getLogger(__name__)

REMOVED_KEYWORDS = (  # free text and thumbnails the basic profile removes ("X") and dicognito leaves in place
    "StudyDescription", "SeriesDescription", "ImageComments", "StudyComments", "PatientComments",
    "AdditionalPatientHistory", "RequestedProcedureDescription", "PerformedProcedureStepDescription",
    "AdmittingDiagnosesDescription", "DerivationDescription", "InstitutionalDepartmentName", "ProtocolName",
    "RequestAttributesSequence", "IconImageSequence", "ReferencedStudySequence", "ReferencedPatientSequence",
    "AcquisitionComments", "ReasonForStudy", "RequestedContrastAgent", "InterpretationText",
)
METHOD = "radsearch deid: PS3.15 basic profile (dicognito)"  # LO: at most 64 characters
CODES = (("113100", "Basic Application Confidentiality Profile"),
         ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"))


@dataclass
class DeidSummary:
    written: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> files
    out: Path = Path()

    def __str__(self) -> str:
        parts = [f"wrote {self.written} de-identified DICOM files to {self.out}"]
        parts += [f"{n} skipped: {reason}" for reason, n in sorted(self.skipped.items())]
        return "; ".join(parts)


def deidentify(ds: Dataset, anonymizer: Anonymizer) -> Dataset:
    """De-identify a dataset in place (and return it); `anonymizer` carries the salt."""
    anonymizer.anonymize(ds)
    ds.remove_private_tags()
    removed = set(REMOVED_KEYWORDS)

    def drop(dataset: Dataset, elem: pydicom.DataElement) -> None:
        if elem.keyword in removed:
            del dataset[elem.tag]

    ds.walk(drop)  # nested sequences too
    for tag in [elem.tag for elem in ds if 0x6000 <= elem.tag.group <= 0x601E and elem.tag.group % 2 == 0]:
        del ds[tag]  # overlays: may hold annotations with names
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    ds.DeidentificationMethodCodeSequence = pydicom.Sequence([_code(value, meaning) for value, meaning in CODES])
    return ds


def deidentify_tree(source: str | Path, out: str | Path, salt: str | None = None,
                    allow_burned_in: bool = False) -> DeidSummary:
    """Write a de-identified copy of every DICOM file under `source` to `out`/STUDY/SERIES/SOP.dcm.

    Output names come from the new UIDs, never from the input paths (folder names often hold names).
    The same `salt` gives the same pseudonyms, UIDs and date shift on every run; without one a random
    salt is used, so later runs will not link to this one.
    """
    source, out = Path(source), Path(out)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist; give a DICOM file or a folder of them")
    if out.resolve().is_relative_to(source.resolve()) and source.is_dir():
        raise ValueError(f"{out} is inside {source}: write de-identified copies outside the source archive")
    anonymizer = Anonymizer(seed=salt or secrets.token_hex(16))
    summary = DeidSummary(out=out)
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for path in files:
        reason = _copy(path, out, anonymizer, allow_burned_in)
        if reason:
            summary.skipped[reason] += 1
            log.info("%s skipped: %s", path, reason)
        else:
            summary.written += 1
    return summary


def _copy(path: Path, out: Path, anonymizer: Anonymizer, allow_burned_in: bool) -> str | None:
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
    if str(ds.get("BurnedInAnnotation", "")).upper() == "YES" and not allow_burned_in:
        return "burned-in annotation (the pixels may show identity; review and pass --allow-burned-in)"
    deidentify(ds, anonymizer)
    target = out / str(ds.StudyInstanceUID) / str(ds.SeriesInstanceUID) / f"{ds.SOPInstanceUID}.dcm"
    with atomic_path(target, durable=False) as tmp:  # the copy can be made again from the source
        ds.save_as(tmp, enforce_file_format=True)
    return None


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
    return item
