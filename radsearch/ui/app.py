"""The radsearch Streamlit app: thin, it calls the search API only.

Run with `radsearch ui --library LIB` (or `streamlit run app.py -- --library LIB`;
the RADSEARCH_LIBRARY environment variable works too).
"""

from __future__ import annotations

import argparse
import os
import sys

import streamlit as st

from radsearch.errors import RadsearchError, UnreadableImage
from radsearch.imaging import read, read_frames
from radsearch.search import Hit, Library, open_library

MAX_UPLOAD_MB = 64  # larger than any plain radiograph; refuses accidental multi-GB drops
GRID_COLUMNS = 4


def library_path() -> str | None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--library")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return args.library or os.environ.get("RADSEARCH_LIBRARY")


@st.cache_resource(show_spinner="Loading library and model…")
def load_library(path: str) -> Library:
    library = open_library(path)
    _ = library.model  # load the encoders once, not on the first search (an assignment: no Streamlit magic)
    return library


def sidebar_filters(library: Library) -> tuple[dict, int]:
    st.sidebar.header("Filters")
    where: dict = {}
    body_parts = st.sidebar.multiselect("Body part", library.filter_choices("body_part"))
    views = st.sidebar.multiselect("View", library.filter_choices("view"))
    if body_parts:
        where["body_part"] = body_parts
    if views:
        where["view"] = views
    k = st.sidebar.slider("Results", min_value=4, max_value=48, value=12, step=4)
    stats = library.stats()
    st.sidebar.caption(f"{stats['images']} images · {stats['reports']} reports · model {stats['model_id']}")
    return where, k


def preview_of(hit: Hit):  # noqa: ANN201 - a path or a pixel array, whatever st.image takes
    """The stored thumbnail, or the decoded original when the thumbnail is missing."""
    if hit.thumbnail:
        return hit.thumbnail
    try:
        frame = hit.metadata.get("frame") or 0
        return (read_frames(hit.path)[frame] if frame else read(hit.path)).pixels
    except (UnreadableImage, IndexError):
        return None


def show_hits(hits: list[Hit], section: str) -> None:
    if not hits:
        st.info("No results match these filters.")
        return
    columns = st.columns(GRID_COLUMNS)
    for n, hit in enumerate(hits):
        meta = hit.metadata
        with columns[n % GRID_COLUMNS]:
            preview = preview_of(hit)
            if preview is not None:
                st.image(preview, width="stretch")
            age = f"{meta['age']:.0f}" if meta.get("age") is not None else "?"
            st.markdown(f"**{hit.score:.3f}** · {meta.get('body_part') or '?'} {meta.get('view') or ''}  \n"
                        f"{meta.get('sex') or '?'}/{age} · {meta.get('study_date') or 'no date'}  \n"
                        f"findings: {', '.join(hit.labels) or 'none'}")
            if hit.why is not None:
                st.caption(f"matched: “{hit.why.sentence}”")
            with st.expander("Report"):
                st.markdown(hit.why.highlight(hit.report) if hit.report and hit.why else
                            (hit.report or "No report on file."))
            if st.button("Similar", key=f"{section}-similar-{hit.id}"):
                st.session_state["query_image_id"] = hit.id
                st.rerun()


def main() -> None:
    st.set_page_config(page_title="radsearch", layout="wide")
    st.title("radsearch")
    path = library_path()
    if not path:
        st.error("No library given: start with `radsearch ui --library LIB`.")
        return
    try:
        library = load_library(path)
    except RadsearchError as e:
        st.error(str(e))
        return
    where, k = sidebar_filters(library)
    if "query_image_id" in st.session_state:  # "Similar" on any result: shown first, whichever tab was open
        image_id = st.session_state["query_image_id"]
        header, close = st.columns([5, 1])
        header.subheader(f"Images similar to library image {image_id}")
        if close.button("Close", key="close-similar"):
            del st.session_state["query_image_id"]
            st.rerun()
        show_hits(library.search_like(image_id, k, where=where), "similar")  # its own patient left out
        st.divider()
    tabs = ["Search by image", "Search by text"]
    if st.query_params.get("q"):
        tabs.reverse()  # a shared text search opens on its results
    first, second = st.tabs(tabs)
    image_tab, text_tab = (first, second) if tabs[0] == "Search by image" else (second, first)
    with image_tab:
        upload = st.file_uploader("Drop a DICOM, PNG or JPEG", type=["dcm", "dicom", "png", "jpg", "jpeg"])
        if upload is None:
            st.caption("Upload an image, or use “Similar” on any result.")
        elif upload.size > MAX_UPLOAD_MB * 1024 * 1024:
            st.error(f"{upload.name} is larger than {MAX_UPLOAD_MB} MB.")
        else:
            try:  # the upload stays in memory; nothing is written to disk
                hits = library.search_image(upload.getvalue(), k, where=where)
                st.subheader(f"Images similar to {upload.name}")
                show_hits(hits, "upload")
            except RadsearchError as e:
                st.error(str(e))
    with text_tab:
        # ?q=... in the URL pre-fills the query, so a search can be bookmarked or shared
        text = st.text_input("Describe the finding", value=st.query_params.get("q", ""),
                             placeholder="e.g. left pleural effusion")
        if text.strip():
            st.subheader(f"Images matching “{text.strip()}”")
            show_hits(library.search_text(text, k, where=where), "text")


main()
