"""Similar cases back into the PACS: a DICOM Key Object Selection (KOS) document in the query's study that
references the query image and the images of the similar studies, so a viewer shows them beside it.

highdicom writes the document (patient and study modules from the query, the SR document modules, the
title and description). It refuses references to more than one other study, which a list of similar
cases always has, so those references are added here: IMAGE content items and their study/series/
instance entries in the Current Requested Procedure Evidence Sequence, which the KOS IOD defines as
every instance the content references, whatever its study (PS3.3 C.17.6.2.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from ..errors import RadsearchError

OF_INTEREST = Code("113000", "DCM", "Of Interest")  # CID 7010 key object selection document title
SOURCE = hd.sr.CodedConcept(value="260753009", scheme_designator="SCT", meaning="Source")  # as highdicom names them
_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
          "ReferringPhysicianName", "StudyID", "AccessionNumber")


def similar_cases_kos(query: Dataset, cases: Sequence[Dataset], description: str = "",
                      series_number: int = 9100) -> Dataset:
    """A KOS in the query's study referencing `query` and each dataset of `cases` (headers are enough:
    Study, Series and SOP Instance UIDs and the SOP Class UID)."""
    for name in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        if not query.get(name):
            raise RadsearchError(f"a KOS belongs to the query's DICOM study, and the query has no {name}; query with "
                                 "the DICOM image of the study being read")
    usable = [case for case in cases if all(case.get(n) for n in ("StudyInstanceUID", "SeriesInstanceUID",
                                                                    "SOPInstanceUID", "SOPClassUID"))]
    if not usable:
        raise RadsearchError("none of the similar cases is a DICOM instance with UIDs to reference (PNG or JPEG "
                             "images from a manifest); a KOS can only point at DICOM instances")
    current = _with_type2(query)
    document = hd.ko.KeyObjectSelectionDocument(
        evidence=[current],
        content=hd.ko.KeyObjectSelection(document_title=OF_INTEREST, referenced_objects=[current],
                                         description=description or None),
        series_instance_uid=generate_uid(), series_number=series_number, sop_instance_uid=generate_uid(),
        instance_number=1, manufacturer="radsearch", series_description="radsearch similar cases")
    document.ContentDate = datetime.now().strftime("%Y%m%d")
    document.ContentTime = datetime.now().strftime("%H%M%S")
    for case in usable:
        if case.SOPInstanceUID == query.SOPInstanceUID:
            continue
        document.ContentSequence.append(hd.sr.ImageContentItem(
            name=SOURCE, referenced_sop_class_uid=case.SOPClassUID, referenced_sop_instance_uid=case.SOPInstanceUID,
            relationship_type=hd.sr.RelationshipTypeValues.CONTAINS))
        _add_evidence(document, case)
    return document


def referenced_instances(document: Dataset) -> list[str]:
    """The SOP Instance UIDs a KOS points at, in content order (what a viewer would show)."""
    return [str(item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID) for item in document.ContentSequence
            if item.get("ValueType") == "IMAGE"]


def _add_evidence(document: Dataset, case: Dataset) -> None:
    """Add one instance to the evidence sequence, under its study and series entries."""
    studies = document.CurrentRequestedProcedureEvidenceSequence
    study = next((s for s in studies if s.StudyInstanceUID == case.StudyInstanceUID), None)
    if study is None:
        study = Dataset()
        study.StudyInstanceUID = case.StudyInstanceUID
        study.ReferencedSeriesSequence = []
        studies.append(study)
    series = next((s for s in study.ReferencedSeriesSequence if s.SeriesInstanceUID == case.SeriesInstanceUID), None)
    if series is None:
        series = Dataset()
        series.SeriesInstanceUID = case.SeriesInstanceUID
        series.ReferencedSOPSequence = []
        study.ReferencedSeriesSequence.append(series)
    instance = Dataset()
    instance.ReferencedSOPClassUID = case.SOPClassUID
    instance.ReferencedSOPInstanceUID = case.SOPInstanceUID
    series.ReferencedSOPSequence.append(instance)


def _with_type2(ds: Dataset) -> Dataset:
    """The query's header with the type 2 patient and study attributes highdicom copies (empty if absent)."""
    out = Dataset()
    out.update(ds)
    for name in _TYPE2:
        if name not in out:
            setattr(out, name, "")
    return out
