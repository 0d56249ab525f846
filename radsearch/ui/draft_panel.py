"""The report draft in the reading workflow: each sentence with the studies it cites (each opens beside the
query), the text editable, copied or downloaded; an abstention says why."""

from __future__ import annotations

import json

import streamlit as st

from radsearch.errors import RadsearchError
from radsearch.library import Library

from .compare import open_view
from .query_state import Query

DRAFTS = "drafts"  # session key: the draft made for an upload and filter (drafted once, audited once)


def show_draft(library: Library, query: Query, where: dict) -> None:
    image = query.engine_query(library)
    image = image[0] if isinstance(image, list) else image
    wanted = (query.identity[2][0], json.dumps(where, sort_keys=True, default=str))
    made = st.session_state.get(DRAFTS)
    if made is None or made[0] != wanted:
        try:
            with st.spinner("Drafting from similar cases…"):
                made = (wanted, library.search.draft(image, where=where or None))
        except RadsearchError as e:
            st.error(str(e))
            return
        st.session_state[DRAFTS] = made
    draft = made[1]
    if draft.abstained or draft.uncertain:
        st.warning(draft.text)  # "NO DRAFT: <why>"
        return
    key = f"draft-text-{query.identity[2][0][:16]}"
    edited = st.text_area("Draft report (editable)", value=draft.text, key=key, height=160)
    actions = st.container(horizontal=True, gap="small")
    actions.download_button("Download", edited, file_name="draft-report.txt", mime="text/plain", key="draft-download",
                            icon=":material/download:")
    with actions.popover("Copy", icon=":material/content_copy:", key="draft-copy"):
        st.code(edited, language=None, wrap_lines=True)  # its copy button puts the text on the clipboard
    st.markdown("**Each sentence and the studies it cites**")
    for n, sentence in enumerate(draft.sentences):
        line = st.container(horizontal=True, vertical_alignment="center", gap="small")
        line.markdown(f"{sentence.section.title()}: {sentence.text} · {sentence.support:.0%} of the cases' weight")
        for study in sentence.cases:
            image_id = library.first_image_of(study)
            if image_id is not None and line.button(study, key=f"cite-{n}-{study}", type="tertiary",
                                                    help="Open this study beside the query"):
                open_view("compare", image_id)
