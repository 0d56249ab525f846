"""A DICOMweb PACS as radsearch uses it: find studies and instances (QIDO-RS), fetch instances (WADO-RS),
send documents (STOW-RS). dicomweb-client speaks the protocol; this module adds what a user needs when it
goes wrong: which server, what it said, and what to change.

A source is named `dicomweb+http://HOST:PORT/dicom-web` (or dicomweb+https) on radsearch's command line,
so a URL cannot be mistaken for a folder.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset

from ..errors import RadsearchError
from .credentials import PacsCredentials, read_credentials

log = logging.getLogger(__name__)

DICOMWEB_SCHEME = "dicomweb+"
TIMEOUT_S = 60.0
PAGE = 500  # QIDO results asked for per request (servers cap pages; dicomweb-client follows them)


class PacsError(RadsearchError):
    """The PACS cannot be reached, refuses us, or answers something radsearch cannot use."""


@dataclass(frozen=True)
class InstanceRef:
    """Where one instance lives in the PACS."""

    study_uid: str
    series_uid: str
    sop_uid: str
    modality: str = ""
    sop_class: str = ""


def is_dicomweb_url(source: object) -> bool:
    return isinstance(source, str) and source.lower().startswith(DICOMWEB_SCHEME)


def service_url(source: str) -> str:
    """`dicomweb+http://host/dicom-web` -> `http://host/dicom-web`; refuses credentials inside the URL."""
    url = source[len(DICOMWEB_SCHEME):] if is_dicomweb_url(source) else source
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PacsError(f"{source!r} is not a DICOMweb URL; write dicomweb+http://HOST:PORT/dicom-web")
    if parts.username or parts.password:
        raise PacsError("credentials do not belong in the PACS URL (shell history and logs keep it); set "
                        "RADSEARCH_PACS_USER and RADSEARCH_PACS_PASSWORD, or give --credentials FILE")
    return urlunsplit(parts._replace(path=parts.path.rstrip("/")))


def _tag(item: dict, tag: str) -> str:
    values = item.get(tag, {}).get("Value") or [""]
    return str(values[0])


class DicomWeb:
    """One DICOMweb service, with radsearch's error messages."""

    def __init__(self, source: str, credentials: PacsCredentials | None = None) -> None:
        self.url = service_url(source)
        credentials = credentials if credentials is not None else read_credentials()
        session = requests.Session()
        if credentials.token:
            session.headers["Authorization"] = f"Bearer {credentials.token}"
        elif credentials.user:
            session.auth = (credentials.user, credentials.password)
        self.client = DICOMwebClient(self.url, session=session, timeout=TIMEOUT_S)

    def _call(self, what: str, call, *args, **kwargs):  # noqa: ANN001, ANN202 - wraps any client method
        try:
            return call(*args, **kwargs)
        except requests.exceptions.HTTPError as e:
            status = e.response.status_code if e.response is not None else 0
            raise PacsError(self._http_advice(what, status)) from None
        except requests.exceptions.ConnectionError as e:
            raise PacsError(f"cannot reach the PACS at {self.url} ({type(e).__name__}); check the host, the port, that "
                            "the server is running and that a firewall lets this machine through") from None
        except requests.exceptions.Timeout:
            raise PacsError(f"the PACS at {self.url} did not answer {what} within {TIMEOUT_S:g} s; try again later or "
                            "narrow the query (--since, --modality)") from None
        except (ValueError, KeyError) as e:  # an answer that is not DICOM JSON / multipart DICOM
            raise PacsError(f"the PACS at {self.url} answered {what} with something that is not DICOMweb ({e}); "
                            "is the URL the DICOMweb root (often ending in /dicom-web)?") from None

    def _http_advice(self, what: str, status: int) -> str:
        if status == 401:
            return (f"the PACS at {self.url} refused the credentials (HTTP 401) for {what}; set RADSEARCH_PACS_USER "
                    "and RADSEARCH_PACS_PASSWORD (or RADSEARCH_PACS_TOKEN, or --credentials FILE)")
        if status == 403:
            return f"the PACS at {self.url} does not allow this account {what} (HTTP 403); ask its administrator"
        if status == 404:
            return (f"no DICOMweb service at {self.url} (HTTP 404 for {what}); the root usually ends in /dicom-web "
                    "(Orthanc: http://HOST:8042/dicom-web)")
        return f"the PACS at {self.url} failed {what} (HTTP {status}); see its log"

    # -- QIDO-RS -----------------------------------------------------------------------------------
    def studies(self, modalities: Sequence[str] = (), since: str = "", until: str = "") -> list[tuple[str, str]]:
        """(Study Instance UID, Study Date) of the matching studies, oldest first. Dates are YYYYMMDD."""
        filters: dict[str, str] = {}
        if modalities:
            filters["ModalitiesInStudy"] = ",".join(modalities)
        if since or until:
            filters["StudyDate"] = f"{since}-{until}"
        found = self._call("a study search", self.client.search_for_studies, search_filters=filters,
                           fields=["StudyInstanceUID", "StudyDate"], limit=PAGE, get_remaining=True)
        studies = [(_tag(item, "0020000D"), _tag(item, "00080020")) for item in found]
        return sorted({s for s in studies if s[0]}, key=lambda s: (s[1], s[0]))

    def instances(self, study_uid: str, body_parts: Sequence[str] = ()) -> list[InstanceRef]:
        """The instances of a study (of the series whose Body Part Examined is one of `body_parts`, if given)."""
        series_filter = {"BodyPartExamined": ",".join(body_parts)} if body_parts else {}
        series = self._call(f"a series search in study {study_uid}", self.client.search_for_series,
                            study_instance_uid=study_uid, search_filters=series_filter,
                            fields=["SeriesInstanceUID", "Modality"], get_remaining=True)
        out = []
        for one in series:
            series_uid, modality = _tag(one, "0020000E"), _tag(one, "00080060")
            found = self._call(f"an instance search in series {series_uid}", self.client.search_for_instances,
                               study_instance_uid=study_uid, series_instance_uid=series_uid,
                               fields=["SOPInstanceUID", "SOPClassUID"], get_remaining=True)
            out += [InstanceRef(study_uid, series_uid, _tag(item, "00080018"), modality, _tag(item, "00080016"))
                    for item in found if _tag(item, "00080018")]
        return out

    def find(self, study_uid: str = "", sop_uid: str = "") -> list[InstanceRef]:
        """The instances of a study, or the one instance with a SOP Instance UID (searched across studies)."""
        if study_uid:
            return self.instances(study_uid)
        found = self._call(f"an instance search for {sop_uid}", self.client.search_for_instances,
                           search_filters={"SOPInstanceUID": sop_uid},
                           fields=["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"])
        return [InstanceRef(_tag(item, "0020000D"), _tag(item, "0020000E"), _tag(item, "00080018"),
                            _tag(item, "00080060"), _tag(item, "00080016")) for item in found]

    # -- WADO-RS / STOW-RS ---------------------------------------------------------------------------
    def retrieve(self, ref: InstanceRef) -> Dataset:
        """One instance in its stored transfer syntax (no transcoding: lossless stays lossless)."""
        return self._call(f"retrieving instance {ref.sop_uid}", self.client.retrieve_instance, ref.study_uid,
                          ref.series_uid, ref.sop_uid, media_types=(("application/dicom", "*"),))

    def store(self, datasets: Sequence[Dataset]) -> None:
        """Send documents to the PACS (STOW-RS); a refusal of any instance is an error naming it."""
        answer = self._call("storing instances", self.client.store_instances, list(datasets))
        failed = answer.get("FailedSOPSequence") if answer is not None else None
        if failed:
            raise PacsError(f"the PACS at {self.url} refused {len(failed)} of {len(datasets)} instances (STOW-RS "
                            "FailedSOPSequence); see its log")

    def iter_instances(self, studies: Sequence[str], body_parts: Sequence[str] = ()) -> Iterator[InstanceRef]:
        for study_uid in studies:
            yield from self.instances(study_uid, body_parts)
