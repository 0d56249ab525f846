"""The Library page: what is indexed, with which model and index, and how the last indexing runs went."""

from __future__ import annotations

import streamlit as st

from radsearch.library import Library

TITLES = {"body_part": "Body part", "view": "View", "labels": "Findings (labels)", "split": "Split"}


def show_library(library: Library) -> None:
    facts = library.overview()
    st.header("Library")
    st.caption(str(library.path))
    numbers = st.columns(4)
    numbers[0].metric("Images", facts["images"])
    numbers[1].metric("Reports", facts["reports"])
    numbers[2].metric("Report sentences", facts["report_sentences"])
    numbers[3].metric("Task heads", len(facts["heads"]))
    columns = st.columns(len(TITLES))
    for column, (key, title) in zip(columns, TITLES.items()):
        with column:
            st.subheader(title)
            counts = facts["counts"].get(key, {})
            if counts:
                st.dataframe({"value": list(counts), "images": list(counts.values())}, hide_index=True)
            else:
                st.caption("none")
    st.subheader("Model and index")
    training = facts["model"]["training"]
    st.markdown(
        f"Model **{facts['model_id']}** at `{facts['model']['path']}`: recipe {training.get('recipe', '?')}, "
        f"preset {training.get('preset', '?')}, input {facts['model']['profile'].get('size', '?')} px.  \n"
        f"Index setting `{facts['index']}`; in use: " +
        ", ".join(f"{kind} `{spec}`" for kind, spec in facts["index_types"].items()))
    if facts["heads"]:
        st.subheader("Task heads")
        st.dataframe([{"head": h["name"], "kind": h["kind"], "task": h["task"], "targets": ", ".join(h["targets"]),
                       "held-out AUROC": ", ".join(f"{t} {a:.3f}" for t, a in (h.get("auroc") or {}).items()
                                                   if a is not None) or "uncalibrated"}
                      for h in facts["heads"]], hide_index=True)
    st.subheader("Last indexing runs")
    if facts["runs"]:
        last = facts["runs"][0]
        st.markdown(f"Last run finished {last['finished']} on `{last['source']}`: {last['summary']}")
        st.dataframe(facts["runs"], hide_index=True)
    else:
        st.caption("No run recorded (libraries indexed before runs were recorded show none).")
    st.subheader("Files that could not be read")
    if facts["failures"]:
        st.dataframe(facts["failures"], hide_index=True)
    else:
        st.caption("None: every file found was indexed.")
