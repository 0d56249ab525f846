"""Typed library settings: what radsearch.toml holds, read and written (the folders: files.LibraryPaths)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomli_w

from .errors import LibraryCorrupt, LibraryMismatch, LibraryNotFound
from .files import CONFIG_FILE, MODEL_DIR, atomic_write_bytes

MEMORY_SHARE = 0.5  # of the machine's RAM the vector indexes may take when the library sets no memory_budget
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
FORMAT_VERSION = 3  # 2: series, frames, pseudonymised identifiers, header JSON; 3: report sentences


@dataclass
class LibraryConfig:
    """What a library needs to open itself; written to radsearch.toml."""

    model_dir: str = MODEL_DIR  # relative to the library, or absolute
    model_id: str = ""  # weights hash of the model the vectors were made with
    embed_dim: int = 0
    profile: dict = field(default_factory=dict)  # preprocessing profile (see imaging.PreprocessProfile)
    database_url: str = ""  # empty = catalog.sqlite inside the library; or any SQLAlchemy URL
    index_spec: str = "auto"  # FAISS factory string (wrapped in IDMap2); auto = Flat below 10^5, then IVF{nlist},Flat
    vector_backend: str = "faiss"  # which storage.vectors backend holds the indexes
    thumbnail_size: int = 192  # longest side of the stored previews, in pixels
    pseudonym_salt: str = ""  # key of the patient/accession pseudonyms (radsearch.privacy); made at creation
    keep_identifiers: bool = False  # True stores real patient IDs and accession numbers (a site's choice)
    keep_report_identifiers: bool = False  # True stores report text as written, names and dates included
    memory_budget: str = ""  # RAM the vector indexes may take ("16G", "512M"); empty = MEMORY_SHARE of this machine's
    precision: str = "auto"  # how the encoder embeds: auto (bf16 where native), fp32, bf16 or int8 (models.runtime)
    viewer_url: str = ""  # link template into a DICOM viewer, e.g. OHIF's (search.viewer); RADSEARCH_VIEWER_URL wins
    format_version: int = FORMAT_VERSION


def read_config(root: str | Path) -> LibraryConfig:
    path = Path(root) / CONFIG_FILE
    if not path.is_file():
        raise LibraryNotFound(
            f"{root} is not a radsearch library (no {CONFIG_FILE}); create one with "
            "`radsearch index ARCHIVE --library DIR --model MODEL_DIR`"
        )
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise LibraryCorrupt(f"{path} is not valid TOML ({e}); restore it from a backup (it holds the pseudonym "
                             "salt and the model hash, which cannot be guessed)") from e
    version = data.get("format_version", 1)
    if version != FORMAT_VERSION:
        raise LibraryMismatch(
            f"{root} was written in library format {version}; this radsearch reads format {FORMAT_VERSION}. "
            "Index the archive into a new library (the old one is left untouched)"
        )
    defaults = LibraryConfig()
    values = {k: v for k, v in data.items() if k in LibraryConfig.__dataclass_fields__}
    for key, value in values.items():
        wanted = type(getattr(defaults, key))
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise LibraryCorrupt(f"{path}: {key} must be a {wanted.__name__}, not {value!r}; restore the file "
                                 "from a backup or correct that line")
    return LibraryConfig(**values)


def write_config(root: str | Path, config: LibraryConfig) -> None:
    atomic_write_bytes(Path(root) / CONFIG_FILE, tomli_w.dumps(asdict(config)).encode())


def budget_bytes(text: str) -> int:
    """A memory budget ("16G", "512M", "2.5GB", a number of bytes) in bytes; empty means MEMORY_SHARE of the RAM."""
    if not text.strip():
        return int(MEMORY_SHARE * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if not found or float(found.group(1)) <= 0:
        raise ValueError(f"memory budget {text!r} is not a size such as 16G, 512M or 2.5GB")
    return int(float(found.group(1)) * _UNITS[found.group(2)])
