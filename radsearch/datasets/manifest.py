"""The manifest contract: one CSV row per image, the same for every source (synthetic, import, user)."""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..columns import FROM_MANIFEST
from ..errors import ManifestError

REQUIRED_COLUMNS = ("path", "patient_id", "study_id", "view", "body_part", "labels", "report", "split")
NAMED_OPTIONAL = ("sex", "age", "study_date", "laterality", "regions", "source")


@dataclass
class ManifestRecord:
    """One image; `path` is absolute once read (relative to the manifest in the file)."""

    path: str
    patient_id: str = ""
    study_id: str = ""
    view: str = ""
    body_part: str = ""
    labels: list[str] = field(default_factory=list)
    report: str = ""
    split: str = ""
    sex: str = ""
    age: str = ""
    study_date: str = ""
    laterality: str = ""
    regions: str = ""  # JSON {finding: [y0, x0, y1, x1]} in image fractions; synthetic data only
    source: str = ""  # the collection the row came from, when it says (see source_of)
    columns: dict[str, str] = field(default_factory=dict)  # values of registry columns without a field above

    def value(self, name: str) -> str:
        """The manifest's value of a column (a field above, or one of `columns`); "" when it gives none."""
        return getattr(self, name) if name in _FIELDS else self.columns.get(name, "")

    def to_row(self, root: Path) -> dict[str, str]:
        row = asdict(self)
        row |= row.pop("columns")
        row["labels"] = "|".join(sorted(self.labels))
        path = Path(self.path)
        # relative to the manifest when the image lies under its folder (the pair can move together)
        row["path"] = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        return row


_FIELDS = {f.name for f in fields(ManifestRecord)} - {"columns"}
# every registry column a manifest may give (radsearch.columns) that has no field of its own above
EXTRA_COLUMNS = tuple(c.manifest for c in FROM_MANIFEST if c.manifest not in _FIELDS)
OPTIONAL_COLUMNS = NAMED_OPTIONAL + EXTRA_COLUMNS


def source_of(record: ManifestRecord) -> str:
    """The collection an image came from, which decides what its labels mean: an unlabelled image is
    "normal" only for the findings its own collection annotates.

    The manifest's `source` column when it has one; else the prefix importers give study ids
    ("chexpert:..."); else a prefix that the study and patient ids share before "-" or "_"
    ("nih-00001" and "nih-00001-1"). "" when none of these says.
    """
    if record.source:
        return record.source
    if ":" in record.study_id:
        return record.study_id.split(":", 1)[0]
    study, patient = _PREFIX.match(record.study_id), _PREFIX.match(record.patient_id)
    if study and patient and study.group(1).lower() == patient.group(1).lower():
        return study.group(1).lower()
    return ""


_PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9]*)[-_]")


def parse_labels(text: str) -> list[str]:
    return sorted({part.strip() for part in (text or "").split("|") if part.strip()})


def read_manifest(path: str | Path) -> list[ManifestRecord]:
    """Read a manifest CSV; paths become absolute, relative to the manifest's folder."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    try:
        return _read_rows(path)
    except UnicodeDecodeError as e:
        raise ManifestError(f"manifest {path} is not UTF-8 text (byte {e.start}); save it as UTF-8 CSV") from e
    except (csv.Error, ValueError) as e:  # malformed quoting, NUL bytes, fields beyond csv's size limit
        raise ManifestError(f"manifest {path} is not a readable CSV: {e}") from e


def _read_rows(path: Path) -> list[ManifestRecord]:
    with open(path, newline="", encoding="utf-8-sig") as fh:  # -sig: spreadsheets often start with a BOM
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ManifestError(
                f"manifest {path} lacks column(s) {', '.join(missing)}; "
                f"a manifest needs {', '.join(REQUIRED_COLUMNS)}"
            )
        records = []
        for line, row in enumerate(reader, start=2):
            if not (row.get("path") or "").strip():
                raise ManifestError(f"manifest {path}, line {line}: empty path")
            values = {k: (v or "").strip() for k, v in row.items() if k in _FIELDS}
            values["labels"] = parse_labels(values.get("labels", ""))
            values["path"] = str((path.parent / values["path"]).resolve())
            extra = {k: (row.get(k) or "").strip() for k in EXTRA_COLUMNS if (row.get(k) or "").strip()}
            records.append(ManifestRecord(**values, columns=extra))
    return records


def write_manifest(records: list[ManifestRecord], path: str | Path) -> Path:
    """Write records as CSV with paths relative to the manifest's folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = path.parent.resolve()
    columns = list(REQUIRED_COLUMNS) + list(OPTIONAL_COLUMNS)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for record in records:
            writer.writerow(record.to_row(root))
    return path
