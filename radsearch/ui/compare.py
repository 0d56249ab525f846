"""The reading views a result opens: Compare (the query beside the result, at full resolution, window/level,
zoom and pan linked, stepping through the results by keyboard) and Study (all the views of the result's
study with its report, and the patient's other studies).

Pixels come from the original files through the same reader as indexing (DICOM: modality LUT, full stored
range, the header's windows offered as presets), never from thumbnails. Keys: Left/Right step, O overlay,
T report, Esc back; inside the images, Up/Down and Shift+Up/Down window, 0-9 presets, +/- zoom (viewer.js).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import streamlit as st

from radsearch.errors import RadsearchError, UnreadableImage
from radsearch.imaging import FULL_RANGE, read, read_frame
from radsearch.library import Library
from radsearch.search import GroupHit, Hit

from .cards import ask_to_save, escape, finding_chips, mark_control, query_sides, view_marker
from .query_state import OPEN, Query, Results, session_memo, upload_preview
from .viewer import Pane, encode_pixels, show_viewer

_SECTION = re.compile(r"\s+(?=[A-Z][A-Z ]{3,}\\:)")  # before an upper-case header ("FINDINGS:", escaped)
OVERLAY, REPORT = "compare-overlay", "compare-report"  # session keys: toggled by O and T


# what the viewer receives, encoded once per image: stepping back and forth, or a rerun for a mark or the report,
# neither decodes the original again nor compresses its levels again
@st.cache_data(show_spinner=False, max_entries=24)
def _library_pixels(path: str, frame: int) -> tuple[dict, list[dict]]:
    radiograph = read_frame(path, frame, voi_preset=FULL_RANGE)
    return encode_pixels(radiograph.pixels), radiograph.metadata.get("windows", [])


@st.cache_data(show_spinner=False, max_entries=4)
def _upload_pixels(data: bytes, name: str) -> tuple[dict, list[dict]]:
    radiograph = read(data, name=name, voi_preset=FULL_RANGE)
    return encode_pixels(radiograph.pixels), radiograph.metadata.get("windows", [])


def library_pane(library: Library, image_id: int, title: str) -> Pane:
    """A library image at full range with the windows its header stores."""
    row = library.image(image_id)
    encoded, windows = _library_pixels(row.path, row.frame)
    return Pane(title=title, encoded=encoded, windows=windows)


def query_pane(library: Library, query: Query, near: Hit | None = None) -> Pane:
    """The query as the compare view's left pane: its words, a library image, or the upload (of a study's
    several, the one of the result's view)."""
    if query.kind == "text":
        return Pane(title="Query", text=query.text)
    if query.kind == "similar":
        return library_pane(library, int(query.image_id), f"Query: library image {query.image_id}")
    if query.kind == "examples":
        ids = library.collections.image_ids(query.collection)
        return library_pane(library, ids[0], f"Query: first case of “{query.collection}”") if ids else \
            Pane(title="Query", text=f"the cases of “{query.collection}”")
    uploads = list(query.uploads)
    if near is not None and len(uploads) > 1:  # of a study's views, the one of the result's view first
        wanted = str(near.metadata.get("view") or "")
        uploads.sort(key=lambda upload: upload_preview(upload[1], upload[0])[1] != wanted)
    name, data = uploads[0]
    encoded, windows = _upload_pixels(data, name)
    return Pane(title=f"Query: {name}", encoded=encoded, windows=windows)


def flat(hits: list) -> list[Hit]:
    """The images behind the cards, in card order (a group's best image stands for it)."""
    return [item.hits[0] if isinstance(item, GroupHit) else item for item in hits]


def _overlay(library: Library, image: Any, query: Query, head: str | None) -> np.ndarray | None:  # noqa: ANN401
    """"Where it matches" for one image: the query text's map, else the task head's; None when neither applies."""
    if query.kind == "text":
        made = library.heads.explain(image, text=query.text)
    elif head:
        made = library.heads.explain(image, head=head)
    else:
        return None
    return made.heat_layer()


def show_compare(library: Library, query: Query, shown: Results, image_id: int, head: str | None,
                 marks: dict[int, bool]) -> None:
    """The query and result `image_id` side by side; Previous/Next step through the results on screen."""
    hits = flat(shown.hits)
    ids = [h.id for h in hits]
    position = ids.index(image_id) if image_id in ids else None
    hit = hits[position] if position is not None else None
    row = _opened(library, image_id)
    if row is None:
        return
    title = f"Result {position + 1} of {len(ids)}" if position is not None else f"Library image {image_id}"
    score = f" · similarity {hit.score:.3f}" if hit else ""
    st.subheader(f"Compare · {title}")
    st.markdown(f"{view_marker(hit or row)}{score} · study {escape(row.study_key)} · "
                f"{row.metadata.get('study_date') or 'no date'}")
    bar = st.container(horizontal=True, gap="small")
    if bar.button("Previous", icon=":material/arrow_back:", key="compare-previous", shortcut="Left",
                  disabled=not position):
        open_view("compare", ids[position - 1])
    if bar.button("Next", icon=":material/arrow_forward:", key="compare-next", shortcut="Right",
                  disabled=position is None or position + 1 >= len(ids)):
        open_view("compare", ids[position + 1])
    overlay_possible = query.kind == "text" or bool(head)
    if bar.button("Overlay" + (" on" if st.session_state.get(OVERLAY) else ""), key="compare-overlay-key",
                  shortcut="O", disabled=not overlay_possible,
                  help="Where it matches: the text query's map, or the task head's (choose one in the sidebar)"):
        st.session_state[OVERLAY] = not st.session_state.get(OVERLAY)
        st.rerun()
    if bar.button("Report", key="compare-report-key", shortcut="T", help="Show or hide the result's report"):
        st.session_state[REPORT] = not st.session_state.get(REPORT, True)
        st.rerun()
    if bar.button("Study", key="compare-study", help="All the views of this study, with its report"):
        open_view("study", image_id)
    if bar.button("Save", key="compare-save", help="Keep this case in a collection"):
        ask_to_save([image_id])
    _close_button(bar)
    if query.markable:
        mark_control(library, query, image_id, marks.get(image_id), f"compare-mark-{image_id}")
    overlay = bool(st.session_state.get(OVERLAY)) and overlay_possible
    try:
        left = query_pane(library, query, hit)
        right = library_pane(library, image_id, f"#{position + 1 if position is not None else '–'} · {row.path}")
        if overlay:
            right.overlay = _cached_overlay(library, image_id, query, head)
            if query.kind in ("image", "similar") and head:
                source = query.image_id if query.kind == "similar" else query.engine_query(library)
                left.overlay = _cached_overlay(library, source, query, head)
    except (RadsearchError, UnreadableImage, OSError) as e:
        st.error(str(e))
        return
    show_viewer([left, right], overlay=overlay, key="compare")
    if st.session_state.get(REPORT, True):
        sides = query_sides(library, query.text) if query.text else {}
        st.markdown(finding_chips(library, hit or _as_hit(row), sides))
        report = row.report or "No report on file."
        st.markdown(_highlighted(report, hit))


def _cached_overlay(library: Library, image: Any, query: Query, head: str | None) -> np.ndarray | None:  # noqa: ANN401
    key = (image if isinstance(image, int) else query.identity, query.text, head)
    return session_memo("overlays", key, lambda: _overlay(library, image, query, head), keep=32)


def _highlighted(report: str, hit: Hit | None) -> str:
    """The report as Markdown, each section on its own line and the sentence that matched highlighted."""
    if hit is None or hit.why is None or hit.why.start < 0:
        marked = escape(report)
    else:
        why = hit.why
        marked = (escape(report[:why.start]) + ":orange-background[" + escape(report[why.start:why.end]) + "]"
                  + escape(report[why.end:]))
    return _SECTION.sub("  \n", marked.replace("\n", "  \n"))


def _as_hit(row: Any) -> Hit:  # noqa: ANN401 - an ImageRecord
    return Hit(id=row.id, score=0.0, path=row.path, study_key=row.study_key, metadata=row.metadata,
               labels=row.labels, report=row.report)


def show_study(library: Library, image_id: int, query: Query, shown: Results) -> None:
    """All the views of the study `image_id` belongs to, with its report (the matched sentence highlighted),
    its findings with their side, and the patient's other studies in the library by date."""
    row = _opened(library, image_id)
    if row is None:
        return
    views = library.study_images(row.study_key)
    meta = row.metadata
    age = f"{meta['age']:.0f}" if meta.get("age") is not None else "?"
    st.subheader(f"Study {row.study_key}")
    st.markdown(f"{meta.get('study_date') or 'no date'} · {len(views)} view{'s' if len(views) != 1 else ''} · "
                f"patient {escape(str(meta.get('patient_id') or 'unknown'))} · "
                f"{meta.get('sex') or '?'}/{age}")
    bar = st.container(horizontal=True, gap="small")
    if bar.button("Compare with the query", key="study-compare", type="primary"):
        open_view("compare", image_id)
    if bar.button("Save study", key="study-save", help="Keep every view of this study in a collection"):
        ask_to_save([v.id for v in views])
    _close_button(bar)
    matched = next((h for h in flat(shown.hits) if h.study_key == row.study_key), None)
    panes = []
    for view in views:
        try:
            encoded, windows = _library_pixels(view.path, view.frame)
        except (UnreadableImage, OSError) as e:
            st.error(str(e))
            continue
        panes.append(Pane(title=f"{view.metadata.get('view') or 'view'} · {view.path}", encoded=encoded,
                          windows=windows))
    if panes:
        show_viewer(panes, key="study")
    sides = query_sides(library, query.text) if query.text else {}
    st.markdown(finding_chips(library, matched or _as_hit(row), sides))
    st.markdown(_highlighted(row.report or "No report on file.", matched))
    others = [s for s in library.patient_studies(meta.get("patient_id")) if s["study_key"] != row.study_key]
    st.markdown("**The patient's other studies in this library**")
    if not others:
        st.caption("None.")
    for study in others:
        line = st.container(horizontal=True, vertical_alignment="center")
        line.markdown(f"{study['study_date'] or 'no date'} · study {escape(study['study_key'])} · "
                      f"{study['images']} image{'s' if study['images'] != 1 else ''}")
        if line.button("Open", key=f"study-other-{study['study_key']}"):
            open_view("study", study["first_image"])
    st.caption("Searches leave out the query's own patient (their other studies would fill the first places and "
               "teach nothing), unless “Include the query's own patient” is ticked in the sidebar; a result's "
               "other studies are always listed here, for follow-up.")


def _opened(library: Library, image_id: int) -> Any:  # noqa: ANN401 - an ImageRecord, or None
    """The opened image's row; None, said on the page with the way back, when it has left the library."""
    try:
        return library.image(image_id)
    except KeyError:
        st.error(f"library image {image_id} is no longer in the library")
        _close_button()
        return None


def open_view(kind: str, image_id: int) -> None:
    st.session_state[OPEN] = (kind, int(image_id))
    st.rerun()


def _close_button(where: Any = st) -> None:  # noqa: ANN401 - a container
    if where.button("Back to results", key="close-view", shortcut="Esc", icon=":material/close:"):
        st.session_state.pop(OPEN, None)
        st.rerun()
