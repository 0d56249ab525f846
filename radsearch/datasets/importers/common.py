"""What every importer shares: finding the layout's files, reading its CSVs, resolving image paths."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

from ...errors import ManifestError


def find_file(root: Path, dataset: str, *patterns: str) -> Path:
    """The first file under root matching one of the glob patterns, or an error naming the layout expected."""
    for pattern in patterns:
        found = sorted(root.glob(pattern))
        if found:
            return found[0]
    raise ManifestError(f"{root} does not look like {dataset}: expected {' or '.join(patterns)} in it")


def read_csv(path: Path, header: bool = True) -> Iterator[dict[str, str]] | Iterator[list[str]]:
    """Rows of a CSV (gzip-compressed when it ends in .gz), as dicts, or lists when header=False."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    text = io.StringIO(raw.decode("utf-8-sig"), newline="")
    return csv.DictReader(text) if header else csv.reader(text)


def resolve(root: Path, listed: str) -> Path:
    """An image path as a dataset's CSV lists it, which often starts with the dataset's own folder name."""
    path = Path(listed)
    if path.parts and path.parts[0] == root.name:
        return root.parent / path
    return root / path


def files_by_name(root: Path, *suffixes: str) -> dict[str, Path]:
    """File name -> path for every file under root with one of the suffixes (for flat-listed datasets)."""
    return {p.name: p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file()}


def iso_date(text: str) -> str:
    """DICOM 'YYYYMMDD' (maybe with '.0' from a float column) to ISO 'YYYY-MM-DD'; '' when not a date."""
    digits = (text or "").split(".")[0].strip()
    if len(digits) == 8 and digits.isdigit():
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return ""


def positive(value: str) -> bool:
    """CheXpert-style label cells: 1 / 1.0 is positive; 0, -1 (uncertain) and blank are not."""
    try:
        return float(value) == 1.0
    except (TypeError, ValueError):
        return False
