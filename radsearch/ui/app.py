"""The radsearch Streamlit app: thin, it calls the search API only.

Run with `radsearch ui --library LIB` (or `streamlit run app.py -- --library LIB`;
the RADSEARCH_LIBRARY environment variable works too). Three pages: Search, Library and Curation.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from contextlib import nullcontext
from datetime import date

import streamlit as st

from radsearch.access import USERS_ENV, authenticate, is_loopback, upload_limit_mb
from radsearch.errors import RadsearchError
from radsearch.imaging import read
from radsearch.library import Library, open_library, set_threads
from radsearch.search.audit import acting_as
from radsearch.ui.cards import DETAIL, head_answer, show_detail, show_draft, show_hits
from radsearch.ui.curation_page import show_curation
from radsearch.ui.library_page import show_library

UPLOAD_TYPES = ["dcm", "dicom", "png", "jpg", "jpeg"]
GROUPS = {"Images": None, "Studies": "study", "Patients": "patient"}
log = logging.getLogger("radsearch.ui")


def library_path() -> str | None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--library")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return args.library or os.environ.get("RADSEARCH_LIBRARY")


@st.cache_resource(show_spinner="Loading library and model…")
def load_library(path: str) -> Library:
    set_threads("serve")  # a UI worker shares the machine with the indexer and other workers (radsearch.threads)
    library = open_library(path)
    _ = library.encoder  # load the encoders once, not on the first search (an assignment: no Streamlit magic)
    return library


@st.cache_data(show_spinner=False, max_entries=8)
def filter_facts(path: str, images: int) -> dict:
    """Filter choices and ranges of every column the registry offers (and findings); recomputed when the
    library's image count changes."""
    library = load_library(path)
    return {column.name: library.filter_choices(column.name) for column in library.filter_columns()} | {
        "labels": library.filter_choices("labels")}


def _choices(column: str, label: str, values: list[str], where: dict) -> None:
    if values:
        chosen = st.sidebar.multiselect(label, values, key=f"filter-{column}")
        if chosen:
            where[column] = chosen


def _range(column: str, label: str, values: list[str], where: dict) -> None:
    numbers = [float(v) for v in values]
    if numbers and min(numbers) < max(numbers):
        span = (int(min(numbers)), int(max(numbers) + 0.999))
        low, high = st.sidebar.slider(label, span[0], span[1], span, key=f"filter-{column}")
        if (low, high) != span:
            where[column] = {"min": low, "max": high}


def _dates(column: str, label: str, values: list[str], where: dict) -> None:
    try:
        days = sorted(date.fromisoformat(v) for v in values)
    except ValueError:  # a date the catalog holds in another form: offer the column as choices instead
        _choices(column, label, values, where)
        return
    if days:
        first, last = days[0], days[-1]
        chosen = st.sidebar.date_input(label, (first, last), min_value=first, max_value=last, key=f"filter-{column}")
        if isinstance(chosen, tuple) and len(chosen) == 2 and chosen != (first, last):
            where[column] = {"min": chosen[0].isoformat(), "max": chosen[1].isoformat()}


WIDGETS = {"choices": _choices, "range": _range, "dates": _dates}  # radsearch.columns: Column.ui


def sidebar(library: Library) -> tuple[dict, int, str | None, bool, str | None]:
    """Filters (one per registry column the UI offers, and findings), result count, grouping, own-patient
    choice and task head, from the sidebar."""
    st.sidebar.header("Filters")
    facts = filter_facts(str(library.path), library.count("images"))
    where: dict = {}
    columns = library.filter_columns()
    for column in [c for c in columns if c.ui == "choices"]:  # pickers first, in the registry's order
        WIDGETS[column.ui](column.name, column.title, facts[column.name], where)
    _choices("labels", "Findings", facts["labels"], where)
    for column in [c for c in columns if c.ui != "choices"]:  # then ranges and dates
        WIDGETS[column.ui](column.name, column.title, facts[column.name], where)
    k = st.sidebar.slider("Results", min_value=4, max_value=48, value=12, step=4)
    group = GROUPS[st.sidebar.radio("Show", list(GROUPS), horizontal=True, key="group",
                                    help="One card per image, or per study or patient (its best image)")]
    include_own = st.sidebar.checkbox("Include the query's own patient", key="include-own",
                                      help="When the query image is in the library, its own patient and study "
                                           "are left out unless this is ticked")
    names = library.heads.names()
    head = None
    if names:
        choice = st.sidebar.selectbox("Task head", ["(none)", *names], key="head",
                                      help="Run a trained or zero-shot head on the query and on every result.")
        head = None if choice == "(none)" else choice
    stats = library.stats()
    st.sidebar.caption(f"{stats['images']} images · {stats['reports']} reports · model {stats['model_id']}")
    return where, k, group, include_own, head


def checked_uploads(uploads: list) -> list[tuple[str, bytes]]:  # noqa: ANN001 - Streamlit UploadedFile objects
    """(name, bytes) of the uploads within the size limit; the others are named in an error. Nothing is
    written to disk: the bytes stay in memory."""
    kept = []
    limit = upload_limit_mb()
    for upload in uploads:
        if upload.size > limit * 1024 * 1024:
            st.error(f"{upload.name} is larger than {limit:g} MB and was not searched.")
        else:
            kept.append((upload.name, upload.getvalue()))
    return kept


def image_search(library: Library, where: dict, k: int, group: str | None, include_own: bool,
                 head: str | None) -> bytes | None:
    """The image tab: one image, or several of one study (each view finds its own kind). Returns the
    first query image, for the side-by-side view."""
    uploads = st.file_uploader("Drop a DICOM, PNG or JPEG, or several images of one study", type=UPLOAD_TYPES,
                               accept_multiple_files=True)
    files = checked_uploads(uploads or [])
    if not files:
        st.caption("Upload an image, or use “Similar” on any result.")
        return None
    names = ", ".join(name for name, _ in files)
    try:
        # decoded first, by name: a file that cannot be read (or declares too many pixels) is named in the error;
        # searches take the bytes, whose hash finds the query's own patient when the file is in the library
        decoded = [read(data, name=name) for name, data in files]
        images = [data for _, data in files]
        hits = library.search(images, k, where, by=group, include_own=include_own)
        decoded = decoded[:4]  # shown, and run through the head
        query_columns = st.columns(len(decoded) + (1 if head else 0))
        for column, (name, _), radiograph in zip(query_columns, files, decoded):
            column.image(radiograph.pixels, caption=name, width="stretch")  # as the encoder sees it
            if head:
                column.markdown(f"{head}: {head_answer(library.heads.predict(radiograph, head))}")
        if head:
            query_columns[-1].image(library.heads.explain(decoded[0], head=head).overlay(),
                                    caption=f"where {head} looks", width="stretch")
        if st.toggle("Draft a report from similar cases", key="draft",
                     help="Sentences the most similar reported studies agree on, each citing its studies"):
            show_draft(library, images[0], where)
        st.subheader(f"{'Studies' if group == 'study' else 'Patients' if group else 'Images'} similar to {names}")
        show_hits(library, hits, "upload", head)
    except RadsearchError as e:
        st.error(str(e))
    return files[0][1]


def text_search(library: Library, where: dict, k: int, group: str | None, head: str | None) -> None:
    # ?q=... in the URL pre-fills the query, so a search can be bookmarked or shared
    text = st.text_input("Describe the finding", value=st.query_params.get("q", ""),
                         placeholder="e.g. left pleural effusion")
    if not text.strip():
        return
    try:
        hits = library.search(text, k, where, by=group)
    except RadsearchError as e:
        st.error(str(e))
        return
    st.subheader(f"{'Studies' if group == 'study' else 'Patients' if group else 'Images'} matching “{text.strip()}”")
    show_hits(library, hits, "text", head, text.strip())


def search_page(library: Library) -> None:
    where, k, group, include_own, head = sidebar(library)
    if DETAIL in st.session_state:  # "Open" on any result: shown first, whichever tab was open
        show_detail(library, st.session_state.get("query-bytes"), head)
    if "query_image_id" in st.session_state:  # "Similar" on any result
        image_id = st.session_state["query_image_id"]
        header, close = st.columns([5, 1])
        header.subheader(f"Images similar to library image {image_id}")
        if close.button("Close", key="close-similar"):
            del st.session_state["query_image_id"]
            st.rerun()
        show_hits(library, library.search(image_id, k, where, include_own=include_own), "similar", head)
        st.divider()
    tabs = ["Search by image", "Search by text"]
    if st.query_params.get("q"):
        tabs.reverse()  # a shared text search opens on its results
    first, second = st.tabs(tabs)
    image_tab, text_tab = (first, second) if tabs[0] == "Search by image" else (second, first)
    with image_tab:
        st.session_state["query-bytes"] = image_search(library, where, k, group, include_own, head)
    with text_tab:
        text_search(library, where, k, group, head)


def signed_in_user() -> str | None:
    """The login this session's searches are audited under; stops the page until one is given.

    With a users file (RADSEARCH_USERS, set by `radsearch ui --users`) everyone signs in with a name and
    token. Without one the app serves only on a loopback address (searches are then audited under the
    server's OS account); Streamlit's own default, every interface, is refused.
    """
    users_file = os.environ.get(USERS_ENV, "")
    if not users_file:
        address = st.get_option("server.address") or "0.0.0.0"
        if not is_loopback(address):
            st.error(f"This server listens on {address} without authentication. Restart it with "
                     "`radsearch ui --users FILE` (or set RADSEARCH_USERS), or bind it to 127.0.0.1.")
            st.stop()
        return None
    if st.session_state.get("user"):
        if st.sidebar.button(f"Sign out {st.session_state['user']}", key="sign-out"):
            del st.session_state["user"]
            st.rerun()
        return st.session_state["user"]
    with st.form("sign-in"):
        name = st.text_input("User", key="sign-in-user")
        token = st.text_input("Access token", type="password", key="sign-in-token")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            valid = authenticate(users_file, name, token)
        except (RadsearchError, ValueError) as e:
            st.error(str(e))
            st.stop()
        if valid:
            st.session_state["user"] = name.strip()
            log.info("user %s signed in", name.strip())
            st.rerun()
        log.warning("failed sign-in for user %r", name)
        st.error("Unknown user or wrong token.")
    st.stop()


def main() -> None:
    st.set_page_config(page_title="radsearch", layout="wide")
    st.title("radsearch")
    user = signed_in_user()
    with acting_as(user) if user else nullcontext():
        show_pages()


def show_pages() -> None:
    path = library_path()
    if not path:
        st.error("No library given: start with `radsearch ui --library LIB`.")
        return
    try:
        library = load_library(path)
    except RadsearchError as e:
        st.error(str(e))
        return
    page = st.sidebar.radio("Page", ["Search", "Library", "Curation"], horizontal=True, key="page")
    if page == "Library":
        show_library(library)
    elif page == "Curation":
        show_curation(library)
    else:
        search_page(library)


main()
