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


def head_answer(library: Library, image, head: str) -> str:  # noqa: ANN001 - an image id, bytes or pixels
    """One line per head answer: each target's probability, and YES where it passes the operating point."""
    answer = library.predict(image, head)
    return " · ".join(f"{target} {p.probability:.2f}{' **YES**' if target in answer.positive else ''}"
                      for target, p in answer.targets.items())


def chosen_head(library: Library) -> str | None:
    names = library.heads.names()
    if not names:
        return None
    choice = st.sidebar.selectbox("Task head", ["(none)", *names],
                                  help="Run a trained or zero-shot head on the query and on every result.")
    return None if choice == "(none)" else choice


def show_explanation(library: Library) -> None:
    """The map asked for with a result's "Where?" button, above the tabs, with a button to close it."""
    image_id, text, head = st.session_state["explain"]
    header, close = st.columns([5, 1])
    header.subheader(f"Where “{text or head}” matches in library image {image_id}")
    if close.button("Close", key="close-explain"):
        del st.session_state["explain"]
        st.rerun()
    try:
        made = library.explain(image_id, text=text, head=None if text else head)
    except (RadsearchError, KeyError) as e:
        st.error(str(e))
        return
    st.image(made.overlay(), width=min(512, made.heatmap.shape[1]),
             caption="Red to yellow: where hiding that part of the image lowers the match most.")
    st.divider()


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


def show_hits(hits: list[Hit], section: str, library: Library | None = None, head: str | None = None,
              text: str | None = None) -> None:
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
            if head and library is not None:
                st.caption(f"{head}: {head_answer(library, hit.id, head)}")
            with st.expander("Report"):
                st.markdown(hit.why.highlight(hit.report) if hit.report and hit.why else
                            (hit.report or "No report on file."))
            if st.button("Similar", key=f"{section}-similar-{hit.id}"):
                st.session_state["query_image_id"] = hit.id
                st.rerun()
            if (text or head) and st.button("Where?", key=f"{section}-where-{hit.id}",
                                            help="Map where the query text (or the head's finding) matches"):
                st.session_state["explain"] = (hit.id, text, head)
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
    head = chosen_head(library)
    if "explain" in st.session_state:
        show_explanation(library)
    if "query_image_id" in st.session_state:  # "Similar" on any result: shown first, whichever tab was open
        image_id = st.session_state["query_image_id"]
        header, close = st.columns([5, 1])
        header.subheader(f"Images similar to library image {image_id}")
        if close.button("Close", key="close-similar"):
            del st.session_state["query_image_id"]
            st.rerun()
        show_hits(library.search_like(image_id, k, where=where), "similar", library, head)  # own patient left out
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
                if head:
                    query, overlay = st.columns([2, 1])
                    query.markdown(f"**{upload.name}**, {head}: {head_answer(library, upload.getvalue(), head)}")
                    overlay.image(library.explain(upload.getvalue(), head=head).overlay(),
                                  caption=f"where {head} looks", width="stretch")
                st.subheader(f"Images similar to {upload.name}")
                show_hits(hits, "upload", library, head)
            except RadsearchError as e:
                st.error(str(e))
    with text_tab:
        # ?q=... in the URL pre-fills the query, so a search can be bookmarked or shared
        text = st.text_input("Describe the finding", value=st.query_params.get("q", ""),
                             placeholder="e.g. left pleural effusion")
        if text.strip():
            st.subheader(f"Images matching “{text.strip()}”")
            show_hits(library.search_text(text, k, where=where), "text", library, head, text.strip())


main()
