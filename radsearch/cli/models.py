"""Verbs about model directories: what radsearch sees in one (inspect), and tiny stand-ins of published layouts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .options import json_option


@click.group()
def models() -> None:
    """Model directories: inspect one, or write a tiny stand-in of a published layout."""


@models.command(name="inspect")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@json_option
def inspect_command(directory: Path, as_json: bool) -> None:
    """Family, towers, embedding width, input size and normalisation, and whether text search is possible."""
    from ..models.inspection import describe_model, inspect_model
    click.echo(json.dumps(inspect_model(directory)) if as_json else describe_model(directory))


@models.command()
@click.argument("kind")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--image-size", default=32, show_default=True, help="Input size of a tiny stand-in's image tower.")
@click.option("--published", is_flag=True, help="The released architecture at its released input size, not tiny.")
def standin(kind: str, out: Path, image_size: int, published: bool) -> None:
    """Write a random-weight checkpoint of KIND in its published layout (to try radsearch without the real
    weights): rad-dino, dinov2, dinov2-registers, vit, convnext, swin, beit, clip, siglip, biomedclip, bert."""
    from ..models.standins import write_standin
    written = write_standin(kind, out, image_size=image_size, published=published)
    click.echo(f"stand-in {kind} written to {written}")


def register(group: click.Group) -> None:
    group.add_command(models)
