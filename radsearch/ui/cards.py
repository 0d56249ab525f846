"""What the search page draws: result cards, the large side-by-side view, head answers and the draft panel.

Everything here calls the Library API; nothing is computed that a script could not get the same way.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from radsearch.errors import RadsearchError, UnreadableImage
from radsearch.heads import HeadPrediction
from radsearch.imaging import read, read_frame, voi_preset_names
from radsearch.library import Library
from radsearch.search import GroupHit, Hit

GRID_COLUMNS = 4
DETAIL = "detail"  # session key: the library image shown large beside the query


def preview_of(hit: Hit):  # noqa: ANN201 - a path or a pixel array, whatever st.image takes
    """The stored thumbnail, or the decoded original when the thumbnail is missing."""
    if hit.thumbnail:
        return hit.thumbnail
    try:
        return read_frame(hit.path, hit.metadata.get("frame") or 0).pixels
    except (UnreadableImage, OSError):
        return None


def head_answer(answer: HeadPrediction) -> str:
    """A head's answer in one line: each target's probability, and YES where it passes the operating point."""
    return " · ".join(f"{target} {p.probability:.2f}{' **YES**' if target in answer.positive else ''}"
                      for target, p in answer.targets.items())


def show_hits(library: Library, hits: list[Hit] | list[GroupHit], section: str, head: str | None = None,
              text: str | None = None) -> None:
    """The result grid. Study or patient groups show their best image and how many of theirs matched."""
    notes = getattr(hits, "notes", [])
    if not hits:
        st.info("No results: " + ("; ".join(notes) if notes else "nothing matches these filters") + ".")
        return
    for note in notes:  # the query's anatomy differs from its neighbours', or it is unlike the library
        st.warning(f"Check these results: {note}.")
    columns = st.columns(GRID_COLUMNS)
    shown = [item.hits[0] if isinstance(item, GroupHit) else item for item in hits]
    answers = library.heads.predict_indexed([hit.id for hit in shown], head) if head else {}
    for n, item in enumerate(hits):
        group = item if isinstance(item, GroupHit) else None
        hit = group.hits[0] if group else item
        meta = hit.metadata
        with columns[n % GRID_COLUMNS]:
            preview = preview_of(hit)
            if preview is not None:
                st.image(preview, width="stretch")
            age = f"{meta['age']:.0f}" if meta.get("age") is not None else "?"
            title = f"**{(group or hit).score:.3f}**"
            if group:
                title += f" · {len(group.hits)} matching image{'s' if len(group.hits) != 1 else ''} of {group.key}"
            st.markdown(f"{title} · {meta.get('body_part') or '?'} {meta.get('view') or ''}  \n"
                        f"{meta.get('sex') or '?'}/{age} · {meta.get('study_date') or 'no date'}  \n"
                        f"findings: {', '.join(hit.labels) or 'none'}")
            if hit.why is not None:
                st.caption(f"matched: “{hit.why.sentence}”")
            if hit.id in answers:
                st.caption(f"{head}: {head_answer(answers[hit.id])}")
            if hit.viewer_url:  # the site's DICOM viewer (search.viewer)
                st.link_button("Open in viewer", hit.viewer_url)
            with st.expander("Report"):
                st.markdown(hit.why.highlight(hit.report) if hit.report and hit.why else
                            (hit.report or "No report on file."))
            if st.button("Similar", key=f"{section}-similar-{hit.id}"):
                st.session_state["query_image_id"] = hit.id
                st.rerun()
            if st.button("Open", key=f"{section}-open-{hit.id}", help="See it large beside the query"):
                st.session_state[DETAIL] = (hit.id, text)
                st.rerun()


def display_window(pixels: np.ndarray, level: float, width: float) -> np.ndarray:
    """Re-window display pixels in [0, 1]: level and width on the same scale."""
    low = level - width / 2
    return np.clip((pixels - low) / max(width, 1e-6), 0, 1)


def show_detail(library: Library, query_image: bytes | None, head: str | None) -> None:
    """A result large beside the query, with the DICOM's stored windows, a manual window and a map of
    where the query text (or the chosen head) matches."""
    image_id, text = st.session_state[DETAIL]
    try:
        row = library.image(image_id)
    except KeyError:
        row = None
    header, close = st.columns([5, 1])
    header.subheader(f"Library image {image_id}" + (f" · {row.study_key}" if row else ""))
    if close.button("Close", key="close-detail"):
        del st.session_state[DETAIL]
        st.rerun()
    if row is None:
        st.error(f"image {image_id} is no longer in the library")
        return
    left, right = st.columns(2)
    with left:
        if text:  # opened from a text search
            st.markdown(f"**Query:** {text}")
        elif query_image is not None:
            st.image(read(query_image).pixels, caption="query", width="stretch")
    with right:
        presets = voi_preset_names(row.path)
        choice = st.selectbox("Window", presets or ["as stored"], key="detail-window",
                              help="The windows the DICOM header stores (viewers open on the first)")
        level, width = st.slider("Level", 0.0, 1.0, 0.5, key="detail-level"), \
            st.slider("Width", 0.05, 1.0, 1.0, key="detail-width")
        try:
            preset = presets.index(choice) if presets else 0
            pixels = read_frame(row.path, row.frame, voi_preset=preset).pixels
        except (UnreadableImage, OSError) as e:
            st.error(str(e))
            return
        overlay = st.toggle("Show where it matches", key="detail-overlay", disabled=not (text or head),
                            help="Needs a text query or a task head")
        if overlay and (text or head):
            try:
                made = library.heads.explain(image_id, text=text, head=None if text else head)
                st.image(made.overlay(), width="stretch")
                st.caption(f"where “{made.query}” matches")
            except (RadsearchError, KeyError) as e:
                st.error(str(e))
        else:
            st.image(display_window(pixels, level, width), caption=row.path, width="stretch", clamp=True)
        if head:
            st.markdown(f"{head}: {head_answer(library.heads.predict(image_id, head))}")
        st.markdown(row.report or "No report on file.")
    st.divider()


def show_draft(library: Library, image: bytes, where: dict | None) -> None:
    """The retrieval-augmented draft, each sentence's cited studies a button that opens them."""
    try:
        draft = library.search.draft(image, where=where)
    except RadsearchError as e:
        st.error(str(e))
        return
    st.code(draft.text, language=None, wrap_lines=True)  # Streamlit's copy button sits on code blocks
    cited = sorted({key for sentence in draft.sentences for key in sentence.cases})
    first_image = {case.study_key: case for case in draft.cases}
    if cited:
        st.caption("Cited studies: open one to see it beside the query.")
        buttons = st.columns(min(len(cited), 6))
        for n, key in enumerate(cited):
            image_id = library.first_image_of(key)
            if image_id is not None and buttons[n % len(buttons)].button(
                    key, key=f"cite-{key}", help=f"similarity {first_image[key].score:.3f}" if key in first_image
                    else None):
                st.session_state[DETAIL] = (image_id, None)
                st.rerun()
