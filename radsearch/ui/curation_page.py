"""The Curation page: run a curation check on the library, browse its rows, download them as CSV."""

from __future__ import annotations

import streamlit as st

from radsearch.curation import COLUMNS, duplicate_rows, rows_csv
from radsearch.library import Library

CHECKS = {"Duplicates": "duplicates", "Leakage between splits": "leakage", "Outliers": "outliers",
          "Label noise": "label-noise", "Map and clusters": "map"}


def _rows(library: Library, check: str) -> list[dict]:
    curate = library.curate
    if check == "duplicates":
        return duplicate_rows(curate.duplicates())
    if check == "leakage":
        return curate.leakage()
    if check == "outliers":
        return curate.outliers()
    if check == "label-noise":
        return curate.label_noise()
    return curate.map()


def show_curation(library: Library) -> None:
    st.header("Curation")
    label = st.selectbox("Check", list(CHECKS), key="curation-check")
    check = CHECKS[label]
    if st.button("Run", key="curation-run"):
        with st.spinner(f"{label}..."):
            st.session_state[f"curation-{check}"] = _rows(library, check)
    rows = st.session_state.get(f"curation-{check}")
    if rows is None:
        st.caption("Run the check to see its findings; `radsearch curate` writes the same rows as CSV.")
        return
    st.write(f"{len(rows)} rows")
    if check == "map" and rows:
        st.scatter_chart({"x": [r["x"] for r in rows], "y": [r["y"] for r in rows],
                          "body part": [r["body_part"] or "(none)" for r in rows]}, x="x", y="y", color="body part")
    st.dataframe([{k: r.get(k) for k in COLUMNS[check]} for r in rows], hide_index=True)
    st.download_button("Download CSV", rows_csv(check, rows), file_name=f"{check}.csv", mime="text/csv",
                       key="curation-download")
