"""Indiana University chest X-rays (Open-i): report XML files (ecgen-radiology/*.xml) and PNG images.

Each XML holds one study: AbstractText sections (COMPARISON, INDICATION, FINDINGS, IMPRESSION),
MeSH "major" terms ("Pleural Effusion/right/small"; the first term is the label) and one
parentImage element per image, named by its file stem.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from ...errors import ManifestError
from ..manifest import ManifestRecord
from ..vocabulary import canonical_labels
from .common import files_by_name

NAME = "Open-i (Indiana University)"
SECTIONS = ("COMPARISON", "INDICATION", "FINDINGS", "IMPRESSION")


def records(root: Path, reports: Path | None = None) -> Iterator[ManifestRecord]:
    xml_files = sorted((reports or root).rglob("*.xml"))
    if not xml_files:
        raise ManifestError(f"{reports or root} does not look like {NAME}: expected report XML files "
                            "(ecgen-radiology/*.xml) in it")
    images = {path.stem: path for path in files_by_name(root, ".png").values()}
    for xml in xml_files:
        try:
            tree = ET.parse(xml).getroot()
        except ET.ParseError as e:
            raise ManifestError(f"{xml} is not valid XML ({e}); re-extract the Open-i reports") from e
        uid = (tree.find(".//uId").get("id") if tree.find(".//uId") is not None else xml.stem)
        texts = {node.get("Label", "").upper(): (node.text or "").strip() for node in tree.iter("AbstractText")}
        report = "\n".join(f"{name}: {texts[name]}" for name in SECTIONS if texts.get(name))
        labels = canonical_labels((node.text or "").split("/")[0] for node in tree.iter("major"))
        for image in tree.iter("parentImage"):
            stem = image.get("id", "")
            yield ManifestRecord(
                path=str(images.get(stem, root / f"{stem}.png")), patient_id=f"openi:{uid}",
                study_id=f"openi:{uid}", body_part="CHEST", labels=labels, report=report)
