"""The command group itself: version, verbosity, and errors printed as one line without a traceback."""

from __future__ import annotations

import logging
import os
import sys

import click

from .. import __version__
from ..errors import RadsearchError

log = logging.getLogger("radsearch")


class _Group(click.Group):
    """Prints RadsearchError (and bad paths) as `error: ...` without a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except (RadsearchError, FileNotFoundError, ValueError, KeyError) as e:
            log.debug("failed", exc_info=True)
            click.echo(f"error: {e.args[0] if isinstance(e, KeyError) and e.args else e}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """radsearch: similar-case search over radiographs and their reports."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="radsearch: %(levelname)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # radsearch never downloads weights
