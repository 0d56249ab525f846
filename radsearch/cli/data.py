"""Verbs that make or prepare archives: synth, import, deid."""

from __future__ import annotations

from pathlib import Path

import click

IMPORT_FORMATS = ["mimic-cxr-jpg", "chexpert", "nih-cxr14", "padchest", "vindr-cxr", "mura", "openi"]


@click.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--studies", default=200, show_default=True, help="Number of studies to generate.")
@click.option("--seed", default=0, show_default=True, help="Random seed: the same seed gives the same archive.")
@click.option("--plant", is_flag=True, help="Also plant curation problems (duplicates, leaks, wrong anatomy, flipped "
              "labels, ...) and write their truth to planted.json.")
def synth(out: Path, studies: int, seed: int, plant: bool) -> None:
    """Write a synthetic radiograph archive (DICOM + PNG) and its manifest.csv to OUT."""
    from ..datasets import generate_archive
    manifest = generate_archive(out, studies=studies, seed=seed)
    click.echo(f"wrote {manifest}")
    if plant:
        from ..datasets.planting import plant_problems
        click.echo(f"planted problems; truth in {plant_problems(out, seed=seed)}")


@click.command("import")
@click.argument("dataset", type=click.Choice(IMPORT_FORMATS))
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Manifest CSV to write.")
@click.option("--reports", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of the reports when they are not under ROOT (MIMIC-CXR reports, Open-i XML).")
def import_(dataset: str, root: Path, out: Path, reports: Path | None) -> None:
    """Turn a public dataset's layout at ROOT into a manifest CSV (images, labels, reports, splits)."""
    from ..datasets.importers import import_dataset
    click.echo(str(import_dataset(dataset, root, out, reports=reports)))


@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--salt", envvar="RADSEARCH_DEID_SALT",
              help="Secret that makes pseudonyms, UIDs and date shifts repeatable across runs "
                   "(or RADSEARCH_DEID_SALT); random when absent.")
@click.option("--allow-burned-in", is_flag=True,
              help="Also copy images flagged BurnedInAnnotation=YES (review their pixels first).")
def deid(source: Path, out: Path, salt: str | None, allow_burned_in: bool) -> None:
    """Write de-identified copies of the DICOM files under SOURCE to OUT (DICOM basic profile)."""
    from ..imaging.deid import deidentify_tree
    click.echo(str(deidentify_tree(source, out, salt=salt, allow_burned_in=allow_burned_in)))


def register(group: click.Group) -> None:
    for command in (synth, import_, deid):
        group.add_command(command)
