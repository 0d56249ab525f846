"""The REST API (`radsearch serve`): the Python API's searches, drafts and facts over HTTP, with OpenAPI.

The same rules as the UI: only loopback without a users file (radsearch.access), a bearer token per
person otherwise (api.auth), every search in the library's audit log under the caller's name, uploads
under the size limit (api.limits) and the imaging pixel limit. Errors come back as JSON
`{"error": "..."}` with the status a client can act on (api.errors). Routes are plain functions run
in a thread pool; the Library they share is safe to search from several threads. (No `from __future__
import annotations` here: FastAPI reads the routes' annotations, which name local dependencies.)
"""


import json
from contextlib import nullcontext
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Header, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from .. import __version__
from ..library import Library, open_library
from ..pacs import DicomWeb
from ..pacs.dicomweb import service_url
from ..search.audit import acting_as
from .auth import TokenChecker
from .errors import NotFound, install_error_handlers
from .limits import BodyLimit
from .results import draft_json, hits_json, image_json
from .workspace import add_workspace_routes

MAX_K = 1000  # results per request; more is a bulk export, not a search
MAX_QUERY_VIEWS = 8  # images of a PACS study used as one query (a radiograph study has a few views)


class SearchRequest(BaseModel):
    """One search: exactly one of text, image_id, study_uid or sop_uid, with the Python API's options."""

    text: str | None = Field(None, description="Free text, e.g. 'left pleural effusion without pneumothorax'")
    image_id: int | None = Field(None, description="An indexed image's id: more like this one")
    study_uid: str | None = Field(None, description="Study Instance UID of an indexed study: its images as the query")
    sop_uid: str | None = Field(None, description="SOP Instance UID of an indexed image")
    k: int = Field(10, ge=1, le=MAX_K)
    where: dict[str, Any] | None = Field(None, description="Filters, as in the Python API: "
                                                           '{"body_part": "CHEST", "age": {"min": 40, "max": 70}}')
    results: Literal["images", "reports", "sentences"] = "images"
    by: Literal["study", "patient"] | None = None
    include_own: bool = False
    feedback: bool = Field(False, description="refine by the caller's relevance marks on this query (POST /feedback)")


class DraftRequest(BaseModel):
    image_id: int | None = None
    study_uid: str | None = None
    sop_uid: str | None = None
    k: int = Field(10, ge=1, le=100)


def create_app(library: str | Path | Library, users_file: str | Path | None = None,
               max_upload_mb: float = 64.0, pacs: str | None = None) -> FastAPI:
    """The ASGI app for one library. users_file: require a bearer token from it on every route but /health.
    pacs: a dicomweb+http://... service that /kos/image may store its documents in."""
    lib = library if isinstance(library, Library) else open_library(library)
    tokens = TokenChecker(users_file)
    app = FastAPI(title="radsearch", version=__version__,
                  description="Similar-case search over radiographs and their reports. Sign in with "
                              "`Authorization: Bearer NAME:TOKEN` when the server has a users file.")
    install_error_handlers(app)

    def caller(authorization: Annotated[str | None, Header()] = None) -> str | None:
        return tokens.user(authorization)

    User = Annotated[str | None, Depends(caller)]

    def as_caller(user: str | None):  # noqa: ANN202 - a context manager
        return acting_as(f"api:{user}") if user else nullcontext()

    add_workspace_routes(app, lib, User, as_caller)

    @app.get("/health", tags=["service"])
    def health() -> dict:
        """Whether the library answers (no sign-in: for load balancers and monitoring)."""
        lib.count()
        return {"status": "ok"}

    @app.get("/stats", tags=["service"])
    def stats(user: User) -> dict:
        """What the library holds: images, reports, model, index, body parts and views."""
        return lib.stats()

    @app.post("/search", tags=["search"])
    def search(request: SearchRequest, user: User) -> Any:
        """Search by text, by an indexed image or study (or one the server's PACS has), with filters, grouping
        and report results."""
        query = _one_query(lib, request, pacs)
        with as_caller(user):
            if request.feedback:
                if request.results != "images" or request.by:
                    raise ValueError("feedback refines image results; drop results and by")
                return hits_json(lib, lib.feedback.search(query, request.k, request.where,
                                                          include_own=request.include_own))
            hits = lib.search(query, request.k, request.where, results=request.results, by=request.by,
                              include_own=request.include_own)
        return hits_json(lib, hits)

    @app.post("/search/image", tags=["search"])
    def search_image(user: User, file: Annotated[UploadFile, File(description="DICOM, PNG or JPEG")],
                     k: Annotated[int, Form(ge=1, le=MAX_K)] = 10,
                     where: Annotated[str | None, Form(description="JSON filter object")] = None,
                     results: Annotated[Literal["images", "reports", "sentences"], Form()] = "images",
                     by: Annotated[Literal["study", "patient"] | None, Form()] = None,
                     include_own: Annotated[bool, Form()] = False) -> Any:
        """Search with an uploaded image."""
        data = file.file.read()
        with as_caller(user):
            hits = lib.search(data, k, _where(where), results=results, by=by, include_own=include_own)
        return hits_json(lib, hits)

    @app.post("/kos/image", tags=["search"], response_class=Response,
              responses={200: {"content": {"application/dicom": {}}}})
    def kos_image(user: User, file: Annotated[UploadFile, File(description="the DICOM image being read")],
                  k: Annotated[int, Form(ge=1, le=100)] = 10,
                  where: Annotated[str | None, Form(description="JSON filter object")] = None,
                  stow: Annotated[bool, Form(description="also store it in the server's PACS (--pacs)")] = False,
                  ) -> Response:
        """The top k similar images as a DICOM Key Object Selection in the query's study (application/dicom)."""
        data = file.file.read()
        if stow and not pacs:
            raise ValueError("this server has no PACS to store into; start it with --pacs dicomweb+http://...")
        with as_caller(user):
            hits = lib.search(data, k, _where(where))
        document = lib.key_objects(data, hits, description=f"radsearch: {len(hits)} similar cases")
        if stow:
            DicomWeb(pacs).store([document])
        buffer = BytesIO()
        document.save_as(buffer, enforce_file_format=True)
        return Response(buffer.getvalue(), media_type="application/dicom",
                        headers={"X-Radsearch-Stored": service_url(pacs)} if stow else None)

    @app.post("/draft", tags=["drafts"])
    def draft(request: DraftRequest, user: User) -> dict:
        """A report draft for an indexed image, from the most similar reported studies of other patients."""
        image_id = _one_query(lib, request)
        image_id = image_id[0] if isinstance(image_id, list) else image_id
        with as_caller(user):
            return draft_json(lib.search.draft(Path(lib.image(image_id).path), k=request.k))

    @app.post("/draft/image", tags=["drafts"])
    def draft_image(user: User, file: Annotated[UploadFile, File()],
                    k: Annotated[int, Form(ge=1, le=100)] = 10) -> dict:
        """A report draft for an uploaded image."""
        data = file.file.read()
        with as_caller(user):
            return draft_json(lib.search.draft(data, k=k))

    @app.get("/images/{image_id}", tags=["library"])
    def image(image_id: int, user: User) -> dict:
        """One indexed image: file, study, metadata, labels, report and viewer link."""
        return image_json(lib, _known(lib, image_id))

    @app.get("/images/{image_id}/thumbnail", tags=["library"], response_class=Response,
             responses={200: {"content": {"image/png": {}}}})
    def thumbnail(image_id: int, user: User) -> Response:
        record = _known(lib, image_id)
        path = lib.thumbnail(record.id)
        if path is None:
            raise NotFound(f"image {image_id} has no thumbnail; `radsearch repair` rebuilds them")
        return Response(path.read_bytes(), media_type="image/png")

    @app.get("/heads", tags=["heads"])
    def heads(user: User) -> list[dict]:
        """The task heads trained on this library, with their targets and operating points."""
        return [head.summary() for head in lib.heads.list()]

    @app.post("/heads/{name}/predict", tags=["heads"])
    def predict(name: str, request: DraftRequest, user: User) -> dict:
        """A head's prediction for an indexed image (its stored embedding is reused)."""
        _known_head(lib, name)
        image_id = _one_query(lib, request)
        image_id = image_id[0] if isinstance(image_id, list) else image_id
        return lib.heads.predict(int(image_id), name).to_dict()

    @app.post("/heads/{name}/predict/image", tags=["heads"])
    def predict_image(name: str, user: User, file: Annotated[UploadFile, File()]) -> dict:
        """A head's prediction for an uploaded image."""
        _known_head(lib, name)
        return lib.heads.predict(file.file.read(), name).to_dict()

    return _with_limit(app, max_upload_mb)


def _with_limit(app: FastAPI, max_upload_mb: float) -> FastAPI:
    """The app with the body limit outermost, so nothing of an oversized body is parsed."""
    app.add_middleware(BodyLimit, limit=int(max_upload_mb * 1024 * 1024))
    return app


def _one_query(lib: Library, request: SearchRequest | DraftRequest, pacs: str | None = None) -> Any:
    """The query a request names: its text, an image id, or the images of a study or instance (indexed, else
    fetched from the server's PACS when it has one: the study being read need not be indexed)."""
    given = {name: getattr(request, name) for name in ("text", "image_id", "study_uid", "sop_uid")
             if getattr(request, name, None) not in (None, "")}
    if len(given) != 1:
        names = "text, image_id, study_uid or sop_uid" if isinstance(request, SearchRequest) else \
            "image_id, study_uid or sop_uid"
        raise ValueError(f"give exactly one of {names}")
    (name, value), = given.items()
    if name == "text":
        return value
    if name == "image_id":
        _known(lib, value)
        return int(value)
    ids = lib.find_dicom(**{name: value})
    if not ids and pacs and isinstance(request, SearchRequest):
        fetched = _from_pacs(pacs, **{name: value})
        if fetched:
            return fetched[0] if len(fetched) == 1 else fetched
    if not ids:
        raise NotFound(f"no indexed image has {name.replace('_', ' ').replace('uid', 'UID')} {value}"
                       + (" and the PACS has none" if pacs else "") + "; index it first (radsearch index)")
    return ids[0] if len(ids) == 1 else ids


def _from_pacs(pacs: str, study_uid: str = "", sop_uid: str = "") -> list[bytes]:
    """The image instances of a study (or one instance) fetched from the PACS, as DICOM bytes; reports and
    other documents left out."""
    client = DicomWeb(pacs)
    images = []
    for ref in client.find(study_uid=study_uid, sop_uid=sop_uid)[:MAX_QUERY_VIEWS]:
        dataset = client.retrieve(ref)
        if "PixelData" in dataset:
            buffer = BytesIO()
            dataset.save_as(buffer, enforce_file_format=True)
            images.append(buffer.getvalue())
    return images


def _where(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        where = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"where must be a JSON object, e.g. {{\"body_part\": \"CHEST\"}} ({e})") from None
    if not isinstance(where, dict):
        raise ValueError('where must be a JSON object, e.g. {"body_part": "CHEST"}')
    return where


def _known(lib: Library, image_id: int) -> Any:
    try:
        return lib.image(image_id)
    except KeyError as e:
        raise NotFound(str(e.args[0] if e.args else e)) from None


def _known_head(lib: Library, name: str) -> None:
    if name not in lib.heads.names():
        raise NotFound(f"no head {name!r} in this library; heads here: {', '.join(lib.heads.names()) or 'none'}")
