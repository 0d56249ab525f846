"""The Search page: a query (uploaded images, a text, a library image, a collection's cases), its results as
cards, and the Compare and Study views a result opens over them.

The query and the sidebar's options live in the page's URL (widgets bound to query parameters, and
`similar=` / `collection=` for a pinned query), so "Copy link" gives a colleague the same results.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from radsearch.errors import RadsearchError
from radsearch.imaging import read
from radsearch.library import Library

from .cards import MARK_OPTIONS, ask_to_save, head_answer, show_cards, show_save_dialog
from .compare import open_view, show_compare, show_study
from .draft_panel import show_draft
from .query_state import OPEN, PINNED, Query, Results, pin, results, session_memo, upload_preview
from .sidebar import BOUND, SearchOptions, sidebar
from .viewer import copy_link

UPLOAD_TYPES = ["dcm", "dicom", "png", "jpg", "jpeg"]
IMAGE_TAB, TEXT_TAB = "Search by image", "Search by text"
PREVIEW_WIDTH = 150  # px: the query's preview sits beside the uploader, never above the results
UPLOAD_ANSWERS = "upload-answers"  # session key: (library, upload digest, name, head) -> the head's answer


def search_page(library: Library) -> None:
    try:
        _search_page(library)
    finally:
        show_save_dialog(library)


def _search_page(library: Library) -> None:
    options = sidebar(library)
    _pin_from_link()
    query = _query(library, options)
    if query is None:
        return
    shown = results(library, query, options)
    marks = library.feedback.marks(query.engine_query(library)) if query.markable and not shown.error else {}
    opened = st.session_state.get(OPEN)
    if opened and not shown.error:
        kind, image_id = opened
        if kind == "compare":
            show_compare(library, query, shown, image_id, options.head, marks)
        else:
            show_study(library, image_id, query, shown)
        return
    _results(library, query, shown, options, marks)


def _pin_from_link() -> None:
    """A shared link's `similar=ID` or `collection=NAME` becomes the page's query."""
    if PINNED in st.session_state:
        return
    params = st.query_params
    if params.get("similar", "").isdigit():
        pin(Query("similar", image_id=int(params["similar"])))
    elif params.get("collection"):
        pin(Query("examples", collection=params["collection"], avoid=params.get("avoid", "")))


def _unpin() -> None:
    pin(None)
    for name in ("similar", "collection", "avoid"):
        st.query_params.pop(name, None)
    st.session_state.pop(OPEN, None)


def pin_similar(image_id: int) -> None:
    """Search with a library image ("Similar" on a card)."""
    pin(Query("similar", image_id=int(image_id)))
    st.query_params.pop("collection", None)
    st.query_params["similar"] = str(image_id)
    st.session_state.pop(OPEN, None)
    st.rerun()


def _query(library: Library, options: SearchOptions) -> Query | None:
    """The query the page answers: a pinned one, else the active tab's upload or text."""
    pinned = st.session_state.get(PINNED)
    if pinned is not None:  # its title heads the results; this leaves it for a typed or uploaded query
        if st.button("New search", key="close-similar", icon=":material/close:",
                     help="Leave this query and search by image or text again"):
            _unpin()
            st.rerun()
        return pinned
    default = TEXT_TAB if st.query_params.get("q") else IMAGE_TAB
    # while a result is open, the query folds away (still there, so its upload and text are kept) to give the
    # images the height of the window
    area = st.expander("Query", expanded=False) if st.session_state.get(OPEN) else st.container()
    with area:
        image_tab, text_tab = st.tabs([IMAGE_TAB, TEXT_TAB], key="tab", default=default, on_change="rerun",
                                      bind=BOUND)
        with image_tab:
            uploaded = _uploads(library, options)
        with text_tab:
            text = st.text_input("Describe the finding", key="q", bind=BOUND,
                                 placeholder="e.g. left pleural effusion")
    if st.session_state.get("tab", default) == TEXT_TAB:
        return Query("text", text=text.strip()) if text and text.strip() else None
    return uploaded


def _uploads(library: Library, options: SearchOptions) -> Query | None:
    left, right = st.columns([4, 1], vertical_alignment="top")
    with left:
        files = left.file_uploader("Drop a DICOM, PNG or JPEG, or several images of one study", type=UPLOAD_TYPES,
                                   accept_multiple_files=True, key="uploads")
        kept = _within_limit(files or [])
        drafting = bool(kept) and st.toggle("Draft a report from similar cases", key="draft",
                                            help="Sentences the most similar reported studies agree on, each "
                                                 "citing its studies")
    if not kept:
        st.caption("Upload an image, type a finding, or open a collection's cases.")
        return None
    query = Query("image", uploads=tuple(kept))
    try:
        previews = [upload_preview(data, name) for name, data in kept[:4]]  # an unreadable file is named here
    except RadsearchError as e:
        st.error(str(e))
        return None
    with right:
        for (name, data), (preview, _) in zip(kept, previews):
            st.image(preview, caption=name, width=PREVIEW_WIDTH)
            if options.head:
                st.caption(f"{options.head}: {upload_head_answer(library, data, name, options.head)}")
    if drafting:
        show_draft(library, query, options.where)
    return query


def upload_head_answer(library: Library, data: bytes, name: str, head: str) -> str:
    """A head's answer for an upload, kept in the session: a rerun (a mark, a toggle, a new page of results)
    neither decodes the file again nor runs the encoder on it again."""
    key = (str(library.path), hashlib.sha256(data).hexdigest(), name, head)
    return session_memo(UPLOAD_ANSWERS, key, lambda: head_answer(library.heads.predict(read(data, name=name), head)),
                        keep=16)


def _within_limit(uploads: list) -> list[tuple[str, bytes]]:  # noqa: ANN001 - Streamlit UploadedFile objects
    """(name, bytes) of the uploads within the size limit; the others are named in an error. Nothing is
    written to disk: the bytes stay in memory."""
    from radsearch.access import upload_limit_mb
    kept = []
    limit = upload_limit_mb()
    for upload in uploads:
        if upload.size > limit * 1024 * 1024:
            st.error(f"{upload.name} is larger than {limit:g} MB and was not searched.")
        else:
            kept.append((upload.name, upload.getvalue()))
    return kept


def _results(library: Library, query: Query, shown: Results, options: SearchOptions, marks: dict[int, bool]) -> None:
    if shown.error:
        st.error(shown.error)
        return
    header = st.container(horizontal=True, vertical_alignment="center")
    header.subheader(query.title(options.by))
    if query.kind in ("text", "similar"):
        if header.button("Save search", icon=":material/bookmark_add:", key="save-search",
                         help="Keep this search, with its filters, in a collection"):
            ask_to_save([], search={"query": query.text or query.image_id, "where": options.where or None,
                                    "by": options.by, "k": options.k})
    with header:
        copy_link("upload" if query.kind == "image" else "")
    if shown.marks_used:
        st.caption(f"Ranked with your {shown.marks_used} relevance mark{'s' if shown.marks_used != 1 else ''} "
                   "on this query (towards the relevant, away from the others).")
    elif marks and options.by is None:
        if st.button(f"Re-rank with your {len(marks)} mark{'s' if len(marks) != 1 else ''}", key="rerank",
                     icon=":material/sort:"):
            results(library, query, options, rerank=True)
            st.rerun()
    if not shown.hits:
        st.info("No results: " + ("; ".join(shown.notes) if shown.notes else "nothing matches these filters") + ".")
        return
    for note in shown.notes:  # the query's anatomy differs from its neighbours', or it is unlike the library
        st.warning(f"Check these results: {note}.")
    actions = {"compare": lambda i: open_view("compare", i), "study": lambda i: open_view("study", i),
               "similar": pin_similar}
    show_cards(library, shown.hits, query, options.head, actions, marks)
    if query.markable:
        st.caption(f"Mark results {MARK_OPTIONS[0].lower()} or {MARK_OPTIONS[1].lower()}: the marks are kept with "
                   "the library, refine this query when it is run again, and `radsearch eval` scores them.")

