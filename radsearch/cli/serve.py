"""Verbs that serve a library to people and account for it: ui, users, audit, demo."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from .options import library_option, open_lib

DEMO_STUDIES = 800  # enough patients that the tiny encoder learns the findings (docs/benchmarks.md)


@click.command()
@library_option()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; any address but loopback "
              "needs --users.")
@click.option("--port", default=8501, show_default=True)
@click.option("--users", "users_file", envvar="RADSEARCH_USERS", type=click.Path(dir_okay=False, path_type=Path),
              help="Users file (`radsearch users add`): everyone signs in, and searches are audited under their "
                   "name (or RADSEARCH_USERS).")
@click.option("--theme", type=click.Choice(["dark", "light"]), default="dark", show_default=True,
              help="The reading-room dark theme, or a light one for every reader of this server.")
def ui(library: Path, host: str, port: int, users_file: Path | None, theme: str) -> None:
    """Start the Streamlit UI on a library and print its URL; stopping this command stops the server."""
    from ..access import require_auth
    from ..config import read_config
    from ..ui.server import serve
    read_config(library)  # fail here, clearly, rather than inside the browser
    require_auth(host, users_file)
    sys.exit(serve(library, host, port, users_file, echo=click.echo, theme=theme))


@click.command()
@library_option()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; any address but loopback "
              "needs --users.")
@click.option("--port", default=8000, show_default=True)
@click.option("--users", "users_file", envvar="RADSEARCH_USERS", type=click.Path(dir_okay=False, path_type=Path),
              help="Users file (`radsearch users add`): every request needs `Authorization: Bearer NAME:TOKEN`, and "
                   "searches are audited under NAME (or RADSEARCH_USERS).")
@click.option("--viewer-url", envvar="RADSEARCH_VIEWER_URL", metavar="TEMPLATE",
              help="Link each hit into a DICOM viewer, e.g. 'https://host/ohif/viewer?StudyInstanceUIDs={study_uid}' "
                   "(fields: study_uid, series_uid, sop_uid; or the library's viewer_url).")
@click.option("--pacs", metavar="dicomweb+http://HOST/dicom-web",
              help="The PACS that POST /kos/image stores Key Object Selections in (credentials as for "
                   "`radsearch index`).")
def serve(library: Path, host: str, port: int, users_file: Path | None, viewer_url: str | None,
          pacs: str | None) -> None:
    """Serve a library's searches, drafts and heads as a REST API (OpenAPI schema at /docs and /openapi.json)."""
    import os

    import uvicorn

    from ..access import require_auth, upload_limit_mb
    from ..api import create_app
    from ..search.viewer import VIEWER_ENV, check_template
    require_auth(host, users_file)
    if viewer_url:
        check_template(viewer_url)
        os.environ[VIEWER_ENV] = viewer_url
    app = create_app(open_lib(library, threads="serve"), users_file, upload_limit_mb(), pacs=pacs)
    click.echo(f"radsearch API on http://{host}:{port} (schema: /docs)" + (" (bearer tokens required)"
                                                                       if users_file else "") + "  (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@click.command()
@library_option()
@click.option("--port", default=11112, show_default=True, help="DICOM port to listen on.")
@click.option("--ae-title", default="RADSEARCH", show_default=True, help="This receiver's AE title.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; any address but loopback needs --allow-ae.")
@click.option("--allow-ae", "allowed", multiple=True, metavar="AE_TITLE",
              help="Calling AE titles that may push (the PACS's, a modality's; repeatable). DICOM has no passwords: "
                   "a listener reachable from other machines accepts only these.")
@click.option("--archive", type=click.Path(file_okay=False, path_type=Path),
              help="Where received instances are kept [default: LIB/received].")
@click.option("--batch", "batch_files", default=64, show_default=True, help="Received files indexed together.")
def listen(library: Path, port: int, ae_title: str, host: str, allowed: tuple[str, ...], archive: Path | None,
           batch_files: int) -> None:
    """Receive DICOM C-STORE pushes from a PACS or modality and index them as they arrive (Ctrl-C to stop)."""
    import logging
    import signal
    import threading

    from ..access import is_loopback
    from ..errors import AccessDenied
    from ..pacs.listener import Receiver
    if not is_loopback(host) and not allowed:
        raise AccessDenied(f"refusing to receive on {host} from anyone: give --allow-ae with the calling AE titles "
                           "that may push (DICOM associations carry no password), or keep the default 127.0.0.1")
    lib = open_lib(library)
    archive = (archive or Path(library) / "received").resolve()
    archive.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger("radsearch.listen")
    log.setLevel(logging.INFO)
    caught_up = lib.index(archive, progress=False)  # what arrived before an interruption and was not indexed yet
    if caught_up.added:
        click.echo(f"indexed what was received before: {caught_up}")

    def index_batch(paths: list[Path]) -> None:
        # no fork from a network thread; another writer (an index run) is waited for: the files are received
        click.echo(str(lib.index(paths, progress=False, workers=0, wait=None)))

    receiver = Receiver(archive, index_batch, ae_title=ae_title, allowed=list(allowed), batch_files=batch_files)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    receiver.start(host, port)
    click.echo(f"radsearch listening as {ae_title} on {host}:{port}; instances go to {archive}  (Ctrl-C to stop)")
    stop.wait()
    click.echo("stopping: indexing what is still pending")
    receiver.stop()
    click.echo(f"received {receiver.received} instances, refused {receiver.refused}")


@click.command()
@library_option()
@click.option("--user", help="Only this user's searches (UI logins by name; others as os:ACCOUNT).")
@click.option("--since", help="Only searches at or after this UTC time, e.g. 2026-11-01 or 2026-11-01T08:00.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def audit(library: Path, user: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """Show the audit log: who searched what, when, and which results they were shown."""
    entries = open_lib(library).audit_log(limit, user=user, since=since)
    if as_json:
        click.echo(json.dumps([asdict(entry) for entry in entries], indent=2))
        return
    for entry in entries:
        where = f"  where {json.dumps(entry.filters)}" if entry.filters else ""
        click.echo(f"{entry.at}  {entry.user}  {entry.action}  {entry.query}{where}  -> {len(entry.results)} results")


@click.group()
def users() -> None:
    """Manage the users file of a served UI: add or remove people's access tokens."""


@users.command("add")
@click.option("--file", "users_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("name")
def users_add(users_file: Path, name: str) -> None:
    """Give NAME a new access token (replacing any earlier one); the token is printed once, stored hashed."""
    from ..access import add_user
    token = add_user(users_file, name)
    click.echo(f"{name}: {token}")
    click.echo(f"(give this token to {name}; {users_file} keeps only its hash)", err=True)


@users.command("remove")
@click.option("--file", "users_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("name")
def users_remove(users_file: Path, name: str) -> None:
    """Revoke NAME's access token."""
    from ..access import remove_user
    remove_user(users_file, name)
    click.echo(f"removed {name}")


@click.command()
@click.option("--dir", "workdir", default="radsearch-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where the archive, model and library go.")
@click.option("--studies", default=DEMO_STUDIES, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--no-ui", is_flag=True, help="Print example searches instead of starting the UI.")
@click.option("--port", default=8501, show_default=True)
def demo(workdir: Path, studies: int, seed: int, no_ui: bool, port: int) -> None:
    """Synthesise an archive, train encoders, index it and open the UI (each step resumes if re-run)."""
    from ..demo import prepare_demo, print_examples
    library = prepare_demo(workdir, studies=studies, seed=seed, echo=click.echo)
    if no_ui:
        print_examples(library, workdir / "archive" / "manifest.csv", echo=click.echo)
    else:
        from ..ui.server import serve
        sys.exit(serve(library, "127.0.0.1", port, echo=click.echo))


def register(group: click.Group) -> None:
    for command in (ui, serve, listen, audit, users, demo):
        group.add_command(command)
