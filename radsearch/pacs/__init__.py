"""Talking to a hospital PACS: DICOMweb (QIDO-RS, WADO-RS, STOW-RS) through dicomweb-client, and the
credentials it needs. The DIMSE receiver (`radsearch listen`) is in listener.py."""

from .credentials import PacsCredentials, read_credentials
from .dicomweb import DICOMWEB_SCHEME, DicomWeb, InstanceRef, PacsError, is_dicomweb_url

__all__ = ["DICOMWEB_SCHEME", "DicomWeb", "InstanceRef", "PacsCredentials", "PacsError", "is_dicomweb_url",
           "read_credentials"]
