"""The radsearch Streamlit app: thin, it calls the Library API only.

Run with `radsearch ui --library LIB` (or `streamlit run app.py -- --library LIB`;
the RADSEARCH_LIBRARY environment variable works too). Four pages: Search (with its Compare and Study
views), Collections, Library and Curation.
"""

from __future__ import annotations

import logging
import os
from contextlib import nullcontext

import streamlit as st

from radsearch.access import USERS_ENV, authenticate, is_loopback
from radsearch.errors import RadsearchError
from radsearch.search.audit import acting_as
from radsearch.ui.collections_page import show_collections
from radsearch.ui.curation_page import show_curation
from radsearch.ui.library_page import show_library
from radsearch.ui.resources import library_path, load_library
from radsearch.ui.search_page import search_page

PAGES = ("Search", "Collections", "Library", "Curation")
# the query and the first row of results above the fold of a 1400x1000 window: less of Streamlit's top margin
COMPACT = "<style>[data-testid='stMainBlockContainer'] {padding-top: 2.5rem;}</style>"
log = logging.getLogger("radsearch.ui")


def signed_in_user() -> str | None:
    """The login this session's searches are audited under; stops the page until one is given.

    With a users file (RADSEARCH_USERS, set by `radsearch ui --users`) everyone signs in with a name and
    token. Without one the app serves only on a loopback address (searches are then audited under the
    server's OS account); Streamlit's own default, every interface, is refused.
    """
    users_file = os.environ.get(USERS_ENV, "")
    if not users_file:
        address = st.get_option("server.address") or "0.0.0.0"
        if not is_loopback(address):
            st.error(f"This server listens on {address} without authentication. Restart it with "
                     "`radsearch ui --users FILE` (or set RADSEARCH_USERS), or bind it to 127.0.0.1.")
            st.stop()
        return None
    if st.session_state.get("user"):
        if st.sidebar.button(f"Sign out {st.session_state['user']}", key="sign-out"):
            del st.session_state["user"]
            st.rerun()
        return st.session_state["user"]
    with st.form("sign-in"):
        name = st.text_input("User", key="sign-in-user")
        token = st.text_input("Access token", type="password", key="sign-in-token")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            valid = authenticate(users_file, name, token)
        except (RadsearchError, ValueError) as e:
            st.error(str(e))
            st.stop()
        if valid:
            st.session_state["user"] = name.strip()
            log.info("user %s signed in", name.strip())
            st.rerun()
        log.warning("failed sign-in for user %r", name)
        st.error("Unknown user or wrong token.")
    st.stop()


def main() -> None:
    st.set_page_config(page_title="radsearch", page_icon=":material/radiology:", layout="wide")
    st.html(COMPACT)
    st.sidebar.title("radsearch")
    user = signed_in_user()
    with acting_as(user) if user else nullcontext():
        show_pages()


def show_pages() -> None:
    path = library_path()
    if not path:
        st.error("No library given: start with `radsearch ui --library LIB`.")
        return
    try:
        library = load_library(path)
    except RadsearchError as e:
        st.error(str(e))
        return
    page = st.sidebar.radio("Page", PAGES, horizontal=True, key="page")
    if page == "Collections":
        show_collections(library, go_search=open_search_page)
    elif page == "Library":
        show_library(library)
    elif page == "Curation":
        show_curation(library)
    else:
        search_page(library)


def open_search_page() -> None:
    """Switch to the Search page (a callback: it runs before the page radio is drawn again)."""
    st.session_state["page"] = "Search"


main()
