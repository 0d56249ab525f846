"""Regenerate radsearch/imaging/deid_options.json: the option columns of DICOM PS3.15 Table E.1-1.

The basic profile's actions come at run time from dicom-anonymizer, which carries the current table
but not its option columns. Those columns are taken here from the table as extracted by innolitics'
dicom-standard package (MIT; PS3.15 as of its release), in a throw-away environment, so that radsearch
does not depend on that package (it pulls beautifulsoup4 and the retired `py`):

    python3.11 -m venv /tmp/std && /tmp/std/bin/pip install dicom-standard
    /tmp/std/bin/python tools/deid_options.py

The output holds only tags and action codes, one object per option column.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

COLUMNS = {  # dicom-standard's column name -> radsearch's option name (deid_profile.OPTIONS)
    "rtnLongModifDatesOpt": "modified-dates",
    "rtnLongFullDatesOpt": "full-dates",
    "rtnPatCharsOpt": "patient-characteristics",
    "rtnDevIdOpt": "device-identity",
    "rtnInstIdOpt": "institution-identity",
    "rtnUIDsOpt": "uids",
    "cleanDescOpt": "clean-descriptors",
    "cleanStructContOpt": "clean-structured-content",
    "cleanGraphOpt": "clean-graphics",
}
OUT = Path(__file__).resolve().parents[1] / "radsearch" / "imaging" / "deid_options.json"


def main() -> None:
    source = next(f for f in importlib.metadata.files("dicom-standard")
                  if f.name == "confidentiality_profile_attributes.json")
    rows = json.loads(Path(source.locate()).read_text())
    version = importlib.metadata.version("dicom-standard")
    table: dict[str, dict[str, str]] = {name: {} for name in COLUMNS.values()}
    for row in rows:
        tag = row["tag"].strip("()").replace(",", "").upper()  # "(0010,1010)" -> "00101010", "50XXXXXX" kept
        for column, option in COLUMNS.items():
            if column in row:
                table[option][tag] = row[column]
    OUT.write_text(json.dumps({"source": f"PS3.15 Table E.1-1 option columns via dicom-standard {version}",
                               "options": table}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}: " + ", ".join(f"{name} {len(tags)}" for name, tags in table.items()))


if __name__ == "__main__":
    main()
