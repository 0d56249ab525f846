"""DICOM Structured Report documents for tests, written as a reporting system would write them.

Basic Text SR is built with pydicom (highdicom writes only Enhanced and Comprehensive SR, which need
the images they describe as evidence); Comprehensive SR and Key Object Selection with highdicom.
"""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sr.coding import Code
from pydicom.uid import BasicTextSRStorage, ExplicitVRLittleEndian, generate_uid

FINDINGS = Code("121070", "DCM", "Findings")
IMPRESSION = Code("121072", "DCM", "Impression")
REPORT_TITLE = Code("18748-4", "LN", "Diagnostic imaging report")


def _code(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code.value, code.scheme_designator, code.meaning
    return item


def _item(value_type: str, name: Code, relationship: str = "CONTAINS", **values) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = relationship, value_type
    item.ConceptNameCodeSequence = [_code(name)]
    for key, value in values.items():
        setattr(item, key, value)
    return item


def basic_text_sr(path: Path, image: Dataset, findings: list[str], impression: list[str], *,
                  final: bool = True, written: str = "20260101120000") -> Path:
    """A Basic Text SR (TID 2000 style) about `image`'s study: Findings and Impression containers of TEXT."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = BasicTextSRStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = BasicTextSRStorage, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "SR"
    for key in ("StudyInstanceUID", "PatientID", "PatientName", "AccessionNumber", "StudyDate"):
        setattr(ds, key, image.get(key, ""))
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = generate_uid(), 99, 1
    ds.ContentDate, ds.ContentTime = written[:8], written[8:]
    ds.CompletionFlag = "COMPLETE" if final else "PARTIAL"
    ds.VerificationFlag = "VERIFIED" if final else "UNVERIFIED"
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [_code(REPORT_TITLE)]
    sections = []
    for name, sentences in ((FINDINGS, findings), (IMPRESSION, impression)):
        if sentences:
            section = _item("CONTAINER", name, ContinuityOfContent="SEPARATE")
            section.ContentSequence = [_item("TEXT", name, TextValue=text) for text in sentences]
            sections.append(section)
    ds.ContentSequence = sections
    ds.save_as(path, enforce_file_format=True)
    return path


def comprehensive_sr(path: Path, image: Dataset, findings: list[str], impression: list[str]) -> Path:
    """A Comprehensive SR written by highdicom, with the image as its evidence."""
    content = []
    for name, sentences in ((FINDINGS, findings), (IMPRESSION, impression)):
        if sentences:
            section = hd.sr.ContainerContentItem(name=name, relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
            section.ContentSequence = [hd.sr.TextContentItem(name=name, value=text,
                                                              relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
                                       for text in sentences]
            content.append(section)
    root = hd.sr.ContainerContentItem(name=REPORT_TITLE)
    root.ContentSequence = content
    sr = hd.sr.ComprehensiveSR(evidence=[image], content=root, series_instance_uid=generate_uid(), series_number=98,
                               sop_instance_uid=generate_uid(), instance_number=1, manufacturer="radsearch tests",
                               is_complete=True, is_final=True, is_verified=True,
                               verifying_observer_name="Reader^Test", verifying_organization="Test Hospital")
    sr.save_as(path, enforce_file_format=True)
    return path


def key_object_selection(path: Path, image: Dataset) -> Path:
    """A Key Object Selection document flagging `image` (not a report: an index skips it)."""
    kos = hd.ko.KeyObjectSelectionDocument(
        evidence=[image], content=hd.ko.KeyObjectSelection(document_title=Code("113000", "DCM", "Of Interest"),
                                                           referenced_objects=[image]),
        series_instance_uid=generate_uid(), series_number=97, sop_instance_uid=generate_uid(), instance_number=1,
        manufacturer="radsearch tests")
    kos.save_as(path, enforce_file_format=True)
    return path


def header(path: Path) -> Dataset:
    """An image file's dataset without its pixels (what an SR's evidence needs), with the empty type 2
    patient and study attributes highdicom copies into the document."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    for key in ("PatientBirthDate", "PatientSex", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber",
                "StudyDate", "PatientName"):
        if key not in ds:
            setattr(ds, key, "")
    return ds
