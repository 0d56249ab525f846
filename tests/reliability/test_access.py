"""Access: loopback by default, sign-in required anywhere else, and an audit log of who searched what."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit import config
from streamlit.testing.v1 import AppTest

import radsearch.ui
from radsearch import cli, open_library
from radsearch.access import USERS_ENV, add_user, authenticate, is_loopback
from radsearch.search.audit import acting_as

APP = str(Path(radsearch.ui.__file__).parent / "app.py")


@pytest.fixture()
def served(monkeypatch) -> list:
    """The UI server calls `radsearch ui` would make (none is started)."""
    from radsearch.ui import server
    calls: list = []
    monkeypatch.setattr(server, "serve", lambda *args, **_: calls.append(args) or 0)
    return calls


def test_only_loopback_addresses_count_as_local():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.1.2.3", "192.168.0.5", "pacs.example.org", ""))


def test_the_ui_binds_loopback_by_default_and_refuses_other_addresses_without_users(served, pristine_library,
                                                                                   tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli.main, ["ui", "--library", str(pristine_library)]).exit_code == 0
    assert served[-1][1] == "127.0.0.1"
    exposed = runner.invoke(cli.main, ["ui", "--library", str(pristine_library), "--host", "0.0.0.0"])
    assert exposed.exit_code == 1 and "refusing to serve on 0.0.0.0 without authentication" in exposed.output
    empty = tmp_path / "users.toml"
    empty.write_text("[users]\n")
    no_one = runner.invoke(cli.main, ["ui", "--library", str(pristine_library), "--host", "0.0.0.0", "--users",
                                      str(empty)])
    assert no_one.exit_code == 1 and "has no users" in no_one.output
    assert len(served) == 1  # neither refused server was started


def test_users_get_tokens_that_are_stored_only_as_hashes(served, pristine_library, tmp_path):
    users = tmp_path / "users.toml"
    result = CliRunner().invoke(cli.main, ["users", "add", "--file", str(users), "alice"])
    assert result.exit_code == 0
    token = result.stdout.strip().split(": ", 1)[1]
    assert token not in users.read_text() and "alice" in tomllib.loads(users.read_text())["users"]
    assert users.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert authenticate(users, "alice", token)
    assert not authenticate(users, "alice", token + "x") and not authenticate(users, "mallory", token)
    started = CliRunner().invoke(cli.main, ["ui", "--library", str(pristine_library), "--host", "0.0.0.0",
                                            "--users", str(users)])
    assert started.exit_code == 0 and served[-1][1:] == ("0.0.0.0", 8501, users)
    CliRunner().invoke(cli.main, ["users", "remove", "--file", str(users), "alice"])
    assert not authenticate(users, "alice", token)


def test_an_app_listening_on_every_interface_without_users_shows_no_data(pristine_library, monkeypatch):
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(pristine_library))
    monkeypatch.delenv(USERS_ENV, raising=False)
    config.set_option("server.address", None)  # `streamlit run app.py` bare: Streamlit listens everywhere
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "without authentication" in at.error[0].value
    assert not at.text_input and not at.tabs  # no search box, no results


def test_signing_in_gates_the_ui_and_searches_are_audited_under_the_login(library, monkeypatch, tmp_path):
    users = tmp_path / "users.toml"
    token = add_user(users, "alice")
    monkeypatch.setenv("RADSEARCH_LIBRARY", str(library))
    monkeypatch.setenv(USERS_ENV, str(users))
    config.set_option("server.address", "0.0.0.0")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert [t.label for t in at.text_input] == ["User", "Access token"] and not at.tabs
    at.text_input[0].input("alice")
    at.text_input[1].input("wrong-token")
    at.button[0].click().run()
    assert "Unknown user or wrong token" in at.error[0].value and not at.tabs
    at.text_input[1].input(token)
    at.button[0].click().run()
    assert not at.exception and at.tabs  # the search page
    at.session_state["tab"] = "Search by text"  # as the reader's click on the text tab does
    box = next(t for t in at.text_input if t.label == "Describe the finding")
    box.input("left pleural effusion").run()
    entries = open_library(library).audit_log()
    assert entries[0].user == "alice" and entries[0].query == "text: left pleural effusion"
    assert entries[0].action == "search_text" and len(entries[0].results) > 0


def test_every_search_is_audited_once_with_who_when_what_and_the_results(library, tiny_archive):
    lib = open_library(library)
    hits = lib.search.text("pleural effusion", k=4, where={"body_part": "CHEST"})
    image = next(tiny_archive.rglob("*.dcm"))
    with acting_as("dr.house"):
        studies = lib.search.cases(image, k=2)  # runs search_image inside: one entry, the outer call
    reports = lib.search.reports("nodule", k=3)
    log = open_library(library).audit_log()
    assert [entry.action for entry in log] == ["search_reports", "search_cases", "search_text"]
    text, cases, report = log[2], log[1], log[0]
    assert text.user.startswith("os:") and text.filters == {"body_part": "CHEST"}
    assert text.results == [hit.id for hit in hits] and text.at.endswith("+00:00")
    assert cases.user == "dr.house" and cases.query.startswith(f"image {image.name} sha256:")
    assert cases.results == [hit.id for group in studies for hit in group.hits]
    assert report.results == [hit.id for hit in reports]
    result = CliRunner().invoke(cli.main, ["audit", "--library", str(library), "--user", "dr.house"])
    assert result.exit_code == 0 and "dr.house  search_cases  image" in result.output
    assert "pleural effusion" not in result.output  # another user's search
