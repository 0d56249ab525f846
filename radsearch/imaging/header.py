"""The DICOM header as JSON for the catalog: everything but pixels, binaries, private tags and identities.

Names (every PN element), birth dates, addresses, telephone numbers, identifiers and free-text
comments about the patient are dropped here, at every depth of nested sequences; the catalog keeps
the patient and accession identifiers only as pseudonyms in their own columns (see radsearch.privacy).
"""

from __future__ import annotations

import logging
from typing import Any

import pydicom
from pydicom.dataset import Dataset

log = logging.getLogger(__name__)

BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}  # pixels, overlays, LUT data, icons: not metadata
IDENTIFYING_KEYWORDS = {
    "PatientID", "IssuerOfPatientID", "OtherPatientIDs", "OtherPatientIDsSequence", "AccessionNumber", "StudyID",
    "PatientBirthDate", "PatientBirthTime", "PatientAddress", "PatientTelephoneNumbers",
    "PatientTelecomInformation", "PatientMotherBirthName", "MedicalRecordLocator", "PatientInsurancePlanCodeSequence",
    "MilitaryRank", "BranchOfService", "Occupation", "PatientReligiousPreference", "RegionOfResidence",
    "CountryOfResidence", "PatientComments", "AdditionalPatientHistory", "ImageComments", "StudyComments",
    "InstitutionAddress", "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "PersonIdentificationCodeSequence", "PersonAddress", "PersonTelephoneNumbers", "RequestedProcedureID",
    "ScheduledProcedureStepID", "PerformedProcedureStepID", "PlacerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequest", "AdmissionID", "IssuerOfAdmissionIDSequence",
    "CurrentPatientLocation", "PatientInstitutionResidence", "ReferencedPatientPhotoSequence",
}


def header_json(ds: Dataset) -> dict[str, Any] | None:
    """The header in DICOM JSON form (PS3.18 F), minus what `IDENTIFYING_KEYWORDS` and PN elements hold."""
    try:
        return _kept(ds).to_json_dict(suppress_invalid_tags=True)
    except Exception as e:  # a damaged header must not stop indexing; the image's columns still hold its facts
        log.warning("header not stored as JSON (%s: %s)", type(e).__name__, e)
        return None


def _kept(ds: Dataset) -> Dataset:
    out = Dataset()
    for elem in ds:
        if (elem.tag.is_private or elem.VR in BINARY_VRS or elem.VR == "PN"
                or elem.keyword in IDENTIFYING_KEYWORDS or elem.tag.group == 0x7FE0):
            continue
        if elem.VR == "SQ":
            out.add_new(elem.tag, "SQ", pydicom.Sequence([_kept(item) for item in elem.value]))
        else:
            out.add(elem)
    return out
