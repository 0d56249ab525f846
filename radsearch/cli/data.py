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


DEID_OPTIONS = ("modified-dates", "patient-characteristics", "device-identity", "clean-descriptors", "clean-pixels")


@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--salt", envvar="RADSEARCH_DEID_SALT",
              help="Secret that makes pseudonyms, UIDs and date shifts repeatable across runs "
                   "(or RADSEARCH_DEID_SALT); random when absent.")
@click.option("--option", "options", multiple=True, type=click.Choice(DEID_OPTIONS),
              help="A PS3.15 profile option, declared in each copy (repeatable): modified-dates shifts dates "
                   "(113107), patient-characteristics keeps age, sex, size, weight (113108), device-identity "
                   "keeps device names and serials (113109), clean-descriptors keeps descriptions with "
                   "identifiers replaced (113105), clean-pixels masks text OCR finds in the pixels (113101).")
@click.option("--safe-private", "safe_private", multiple=True, metavar="CREATOR:ELEMENT",
              help="A private element to keep, e.g. 'SIEMENS CSA HEADER:0x10' (repeatable); all others go.")
@click.option("--allow-burned-in", is_flag=True,
              help="Copy images even when their pixels show text or they are flagged BurnedInAnnotation=YES "
                   "(review them first).")
def deid(source: Path, out: Path, salt: str | None, options: tuple[str, ...], safe_private: tuple[str, ...],
         allow_burned_in: bool) -> None:
    """Write de-identified copies of the DICOM files under SOURCE to OUT (PS3.15 basic profile, Table E.1-1)."""
    from ..imaging.deid import deidentify_tree
    kept = []
    for entry in safe_private:
        creator, _, element = entry.rpartition(":")
        try:
            kept.append((creator, int(element, 0)))
        except ValueError:
            raise click.BadParameter(f"{entry!r}: write CREATOR:ELEMENT, e.g. 'SIEMENS CSA HEADER:0x10'",
                                     param_hint="--safe-private") from None
    click.echo(str(deidentify_tree(source, out, salt=salt, allow_burned_in=allow_burned_in, options=options,
                                   safe_private=kept)))


def register(group: click.Group) -> None:
    for command in (synth, import_, deid):
        group.add_command(command)
