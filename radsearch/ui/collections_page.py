"""The Collections page: teaching files, tumour-board lists and curation sets kept in the library; their cases
and saved searches, a manifest export, and "more like these" (the cases as positive examples, another
collection's as negative ones) on the Search page."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from radsearch.library import Library

from .cards import escape
from .query_state import Query, pin

THUMBS = 6  # cases per row


def show_collections(library: Library, go_search) -> None:  # noqa: ANN001 - a callback that opens the Search page
    st.header("Collections")
    found = library.collections.list()
    if not found:
        st.info("No collections yet: use “Save” on a result, a compare view or a study to start one.")
        return
    names = [c.name for c in found]
    chosen = st.selectbox("Collection", names, key="collection-shown",
                          format_func=lambda n: f"{n} ({next(c.items for c in found if c.name == n)} items)")
    record = next(c for c in found if c.name == chosen)
    st.caption(f"Made by {record.user or 'unknown'} on {record.created[:10]}" + (f" · {record.note}" if record.note
                                                                                 else ""))
    items = library.collections.items(chosen)
    cases = [i for i in items if i.image_id is not None]
    searches = [i for i in items if i.search is not None]
    actions = st.container(horizontal=True, gap="small")
    others = ["(none)", *[n for n in names if n != chosen]]
    avoid = actions.selectbox("Less like", others, key="collection-avoid",
                              help="Another collection whose cases are negative examples")
    actions.button("More like these", key="more-like", type="primary", disabled=not cases, on_click=_more_like,
                   args=(chosen, "" if avoid == "(none)" else avoid, go_search),
                   help="Search the library with these cases as positive examples")
    present = library.collections.image_ids(chosen)
    if present:
        actions.download_button("Export manifest", _manifest(library, chosen), file_name=f"{_safe(chosen)}.csv",
                                mime="text/csv", key="collection-export", icon=":material/download:",
                                help="The cases still in the library as a radsearch manifest (paths, labels, "
                                     "reports, splits)")
    with actions.popover("Delete", icon=":material/delete:", key="collection-delete"):
        st.caption(f"“{chosen}” and its {record.items} item{'s' if record.items != 1 else ''} go; the images stay "
                   "in the library.")
        if st.button("Delete the collection", key="collection-delete-confirm", type="primary"):
            library.collections.delete(chosen)
            st.rerun()
    st.subheader(f"Cases ({len(cases)})")
    if not cases:
        st.caption("None.")
    rows = library.images([c.image_id for c in cases if c.image_id in set(present)])
    columns = st.columns(THUMBS)
    for n, item in enumerate(cases):
        with columns[n % THUMBS]:
            row = rows.get(item.image_id)
            if row is None:
                st.caption(f"image {item.image_id} ({escape(item.path or '')}) is no longer in the library")
            else:
                thumbnail = library.thumbnail(row.id)
                if thumbnail is not None:
                    st.image(str(thumbnail), width="stretch")
                st.caption(f"{row.metadata.get('body_part') or '?'} {row.metadata.get('view') or ''} · "
                           f"{', '.join(row.labels) or 'no labels'}")
            st.caption(f"{item.note or ''} · {item.user} · {item.added[:10]}")
            if st.button("Remove", key=f"remove-item-{item.id}", type="tertiary"):
                library.collections.remove(chosen, item.id)
                st.rerun()
    st.subheader(f"Saved searches ({len(searches)})")
    if not searches:
        st.caption("None.")
    for item in searches:
        search = item.search
        line = st.container(horizontal=True, vertical_alignment="center")
        what = f"library image {search['query']}" if isinstance(search["query"], int) else f"“{search['query']}”"
        line.markdown(f"{escape(what)} · filters {search.get('where') or 'none'} · {search.get('k')} results"
                      + (f" by {search['by']}" if search.get("by") else "") + (f" · {item.note}" if item.note else ""))
        line.button("Run", key=f"run-search-{item.id}", on_click=_replay, args=(search, go_search))


def _more_like(collection: str, avoid: str, go_search) -> None:  # noqa: ANN001
    pin(Query("examples", collection=collection, avoid=avoid))
    st.query_params["collection"] = collection
    if avoid:
        st.query_params["avoid"] = avoid
    go_search()


def _replay(search: dict, go_search) -> None:  # noqa: ANN001 - runs as a callback, before the Search page's widgets

    """Put a saved search back on the Search page: its query, and its count and grouping."""
    st.session_state["k"] = int(search.get("k") or 12)
    st.session_state["group"] = {"study": "Studies", "patient": "Patients"}.get(search.get("by"), "Images")
    if isinstance(search["query"], int):
        pin(Query("similar", image_id=search["query"]))
        st.query_params["similar"] = str(search["query"])
    else:
        pin(None)
        st.session_state["tab"] = "Search by text"
        st.session_state["q"] = search["query"]
    for column, value in (search.get("where") or {}).items():
        if isinstance(value, list):
            st.session_state[f"filter-{column}"] = value
    go_search()


def _manifest(library: Library, name: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path, _ = library.export_collection(name, Path(folder) / "collection.csv")
        return path.read_bytes()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "collection"
