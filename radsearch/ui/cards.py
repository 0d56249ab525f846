"""Result cards: what a reader needs to pick a case at a glance, and one clear primary action (Compare).

A card shows the thumbnail the library stored (never the original pixels: a page of results stays light
at any library size), the view and laterality, the findings its report states or rules out with their
side (a side that differs from the query's is flagged), the sentence that matched with the query's
words in bold and negations marked, and the relevance marks. A study or patient group shows its
matching images together, not one repeated image.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import streamlit as st

from radsearch.datasets.report_reading import Finding
from radsearch.errors import UnreadableImage
from radsearch.heads import HeadPrediction
from radsearch.imaging import read_frame
from radsearch.library import Library
from radsearch.search import GroupHit, Hit

from .query_state import Query
from .resources import as_signed_in

GRID_COLUMNS = 4
STRIP = 3  # images of a group shown on its card
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~:$])")
_NEGATION = re.compile(r"\b(no|not|without|negative for|free of|absence of|resolved|ruled out)\b", re.IGNORECASE)
_STOP = frozenset("a an and of the with in on at to for is are or left right".split())
MARK_OPTIONS = ("Relevant", "Not relevant")


def escape(text: str) -> str:
    """Text shown as Markdown exactly as written (report text can hold * _ [ and the like)."""
    return _MARKDOWN.sub(r"\\\1", text)


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


def label_name(label: str) -> str:
    return label.replace("_", " ")


def view_marker(hit: Hit) -> str:
    """Body part, view and laterality as a reader names them: "CHEST · PA", "HAND · PA · L"."""
    meta = hit.metadata
    parts = [meta.get("body_part") or "?", meta.get("view") or ""]
    side = (meta.get("laterality") or "").upper()[:1]
    return " · ".join(p for p in parts if p) + (f" · **{side}**" if side in ("L", "R", "B") else "")


def query_sides(library: Library, text: str) -> dict[str, str]:
    """Finding -> side the query text asks for ("left pleural effusion" -> {pleural_effusion: left})."""
    return {f.label: f.side for f in library.report_findings(text) if f.side and f.asserted}


def finding_chips(library: Library, hit: Hit, sides: dict[str, str]) -> str:
    """Badges for what the report says (present red, ruled out grey and struck through, uncertain orange),
    with the side; the manifest's labels where there is no report."""
    if not hit.report:
        return " ".join(f":blue-badge[{escape(label_name(label))}]" for label in hit.labels) or \
            ":gray-badge[no findings recorded]"
    findings = library.report_findings(hit.report)
    stated = {f.label for f in findings if f.asserted}
    sided = {f.label for f in findings if f.asserted and f.side}
    chips, seen = [], set()
    for finding in sorted(findings, key=lambda f: f.vote is False):  # what is there first, then what is not
        key = (finding.label, finding.status, finding.side)
        if key in seen or (finding.vote is False and finding.label in stated) or \
                (finding.asserted and not finding.side and finding.label in sided):
            continue  # "no effusion" beside "effusion", or "effusion" beside "left effusion", says nothing new
        seen.add(key)
        chips.append(_chip(finding, sides.get(finding.label)))
    return " ".join(chips) or ":green-badge[normal study]"


def _chip(finding: Finding, wanted_side: str | None) -> str:
    name = escape(label_name(finding.label))
    side = f" · {finding.side}" if finding.side else ""
    if finding.asserted:
        if wanted_side and finding.side and finding.side != wanted_side and finding.side != "bilateral":
            return f":orange-badge[⚠ {name}{side} ≠ {wanted_side}]"
        return f":red-badge[{name}{side}]"
    if finding.vote is False:
        return f":gray-badge[no {name}{side}]"
    return f":orange-badge[{name}{side}?]"


def matched_sentence(sentence: str, text: str | None) -> str:
    """The sentence that matched, the query's words in bold and negation words underlined in orange."""
    words = {w for w in re.findall(r"[a-z]+", (text or "").lower()) if w not in _STOP and len(w) > 2}
    out = []
    for token in re.split(r"(\W+)", sentence):
        shown = escape(token)
        if token.lower() in words or any(token.lower().startswith(w[:6]) for w in words if len(w) > 6):
            shown = f"**{shown}**"
        out.append(shown)
    marked = "".join(out)
    return _NEGATION.sub(lambda m: f":orange[**{m.group(0)}**]", marked)


Action = Callable[[int], None]


def show_cards(library: Library, hits: list, query: Query, head: str | None, actions: dict[str, Action],
               marks: dict[int, bool]) -> None:
    """The result grid; `actions` maps "compare", "study", "similar" to what the page does with an image id."""
    sides = query_sides(library, query.text) if query.text else {}
    shown = [item.hits[0] if isinstance(item, GroupHit) else item for item in hits]
    answers = library.heads.predict_indexed([hit.id for hit in shown], head) if head else {}
    columns = st.columns(GRID_COLUMNS)
    for n, item in enumerate(hits):
        with columns[n % GRID_COLUMNS], st.container(border=True, key=f"card-{n}"):
            _card(library, item, n, query, sides, (head, answers), actions, marks)


def _card(library: Library, item: Hit | GroupHit, n: int, query: Query, sides: dict[str, str],
          head_answers: tuple[str | None, dict], actions: dict[str, Action], marks: dict[int, bool]) -> None:
    group = item if isinstance(item, GroupHit) else None
    hit = group.hits[0] if group else item
    if group:
        pictures = [p for p in (preview_of(h) for h in group.hits[:STRIP]) if p is not None]
        if pictures:
            st.image(pictures, width=int(300 / max(1, len(pictures))) if len(pictures) > 1 else "stretch")
        count = len(group.hits)
        st.markdown(f"**#{n + 1}** · {group.score:.3f} · {escape(group.key)}  \n"
                    f"{count} matching image{'s' if count != 1 else ''} · {view_marker(hit)}")
    else:
        preview = preview_of(hit)
        if preview is not None:
            st.image(preview, width="stretch")
        st.markdown(f"**#{n + 1}** · {hit.score:.3f} · {view_marker(hit)}")
    meta = hit.metadata
    age = f"{meta['age']:.0f}" if meta.get("age") is not None else "?"
    st.caption(f"{meta.get('sex') or '?'}/{age} · {meta.get('study_date') or 'no date'} · study {hit.study_key}")
    st.markdown(finding_chips(library, hit, sides))
    if hit.why is not None:
        st.markdown(f"“{matched_sentence(hit.why.sentence, query.text)}”")
    head, answers = head_answers
    if hit.id in answers:
        st.caption(f"{head}: {head_answer(answers[hit.id])}")
    buttons = st.container(horizontal=True, gap="small")
    if buttons.button("Compare", key=f"compare-{n}-{hit.id}", type="primary",
                      help="Beside the query at full resolution, with linked window/level, zoom and pan"):
        actions["compare"](hit.id)
    if buttons.button("Study", key=f"study-{n}-{hit.id}", help="All its views with the report"):
        actions["study"](hit.id)
    if buttons.button("Similar", key=f"similar-{n}-{hit.id}", help="Search with this image"):
        actions["similar"](hit.id)
    if hit.viewer_url:  # the site's DICOM viewer (search.viewer)
        buttons.link_button("Viewer", hit.viewer_url, help="Open in the institution's DICOM viewer")
    if buttons.button("Save", key=f"save-{n}-{hit.id}", help="Keep this case in a collection"):
        ask_to_save([hit.id])
    if query.markable:
        mark_control(library, query, hit.id, marks.get(hit.id), f"mark-{n}-{hit.id}")


def mark_control(library: Library, query: Query, image_id: int, current: bool | None, key: str) -> None:
    """Relevant / not relevant for this query; stored at once, used when the query is run again."""
    default = None if current is None else MARK_OPTIONS[0] if current else MARK_OPTIONS[1]
    st.segmented_control("Relevance", MARK_OPTIONS, default=default, key=key, label_visibility="collapsed",
                         on_change=_store_mark, args=(library, query, image_id, key))


def _store_mark(library: Library, query: Query, image_id: int, key: str) -> None:
    value = st.session_state.get(key)
    relevant = None if value is None else value == MARK_OPTIONS[0]
    with as_signed_in():
        library.feedback.mark(query.engine_query(library), image_id, relevant)


SAVING = "saving"  # session key: (image ids, saved search) the save dialog is open for


def ask_to_save(image_ids: list[int], search: dict | None = None) -> None:
    """Open the save dialog for these cases (or this search); it stays open, across reruns, until closed."""
    st.session_state[SAVING] = (list(image_ids), search)


def show_save_dialog(library: Library) -> None:
    """The save dialog, where one was asked for (called once per page, after everything else)."""
    if SAVING in st.session_state:
        _save_dialog(library, *st.session_state[SAVING])


def _forget_save() -> None:
    st.session_state.pop(SAVING, None)


@st.dialog("Save to a collection", on_dismiss=_forget_save)
def _save_dialog(library: Library, image_ids: list[int], search: dict | None) -> None:
    """Choose or name a collection, add a note, save the cases (or the search). A dialog: its widgets exist
    only while it is open, so a page of cards stays light."""
    names = [c.name for c in library.collections.list()]
    new = "New collection…"
    what = "this search" if search is not None else f"{len(image_ids)} case{'s' if len(image_ids) != 1 else ''}"
    st.caption(f"Keep {what} in a teaching file, a tumour-board list or a curation set.")
    choice = st.selectbox("Collection", [*names, new], key="save-collection")
    name = st.text_input("Name", key="save-name", placeholder="teaching file") if choice == new else choice
    note = st.text_input("Note", key="save-note")
    if not st.button("Save", key="save-submit", type="primary"):
        return
    if not (name or "").strip():
        st.error("Give the new collection a name.")
        return
    try:
        with as_signed_in():  # a dialog reruns on its own, outside the page's signed-in context
            if search is not None:
                library.collections.save_search(name, note=note, **search)
                st.success(f"Search saved to {name}.")
            else:
                added = library.collections.add(name, image_ids, note=note)
                st.success(f"{len(added)} case{'s' if len(added) != 1 else ''} saved to {name}." if added
                           else f"Already in {name}.")
        _forget_save()
    except (KeyError, ValueError) as e:
        st.error(str(e).strip("'\""))
