"""What every page shares: the library the app was started on, opened once per server process."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import AbstractContextManager, nullcontext

import streamlit as st

from radsearch.library import Library, open_library, set_threads
from radsearch.search.audit import acting_as


def library_path() -> str | None:
    """`--library` after the script's `--`, else RADSEARCH_LIBRARY."""
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


def as_signed_in() -> AbstractContextManager:
    """Act as the signed-in user (for widget callbacks, which Streamlit runs before the page's own code)."""
    user = st.session_state.get("user")
    return acting_as(user) if user else nullcontext()
