"""`read`: one entry point for every image format, chosen by the file's magic bytes."""

from __future__ import annotations

from pathlib import Path

from ..errors import UnreadableImage
from .dicom import read_dicom, read_dicom_frames
from .radiograph import Radiograph
from .raster import read_raster

_RASTER_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
IMAGE_SUFFIXES = (".dcm", ".dicom", ".png", ".jpg", ".jpeg", ".tif", ".tiff")


def sniff(head: bytes) -> str | None:
    """'dicom', 'raster' or None, from the first 132 bytes of a file."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if any(head.startswith(magic) for magic in _RASTER_MAGIC):
        return "raster"
    return None


def read(source: str | Path | bytes, name: str | None = None, voi_preset: int = 0,
         max_pixels: int | None = None) -> Radiograph:
    """Decode a DICOM, PNG, JPEG or TIFF file (a path or its bytes) into a Radiograph.

    voi_preset picks among a DICOM's stored windows / VOI LUTs (0 = the first, as viewers do).
    max_pixels refuses larger images before decoding (default: imaging.limits, RADSEARCH_MAX_PIXELS).
    A multi-frame DICOM gives its first frame; `read_frames` gives them all.
    """
    return _read(source, name, voi_preset, max_pixels, all_frames=False)[0]


def read_frames(source: str | Path | bytes, name: str | None = None, voi_preset: int = 0,
                max_pixels: int | None = None) -> list[Radiograph]:
    """Every image a file holds: one per frame of a multi-frame DICOM, else a list of one."""
    return _read(source, name, voi_preset, max_pixels, all_frames=True)


def read_frame(source: str | Path | bytes, frame: int = 0, voi_preset: int = 0) -> Radiograph:
    """One frame of a file (0 for single-frame images): how an indexed image is decoded again."""
    if not frame:
        return read(source, voi_preset=voi_preset)
    frames = read_frames(source, voi_preset=voi_preset)
    if frame >= len(frames):
        raise UnreadableImage(str(source) if not isinstance(source, bytes) else "<upload>",
                              f"has {len(frames)} frames, not frame {frame}; re-index it if the file changed")
    return frames[frame]


def _read(source: str | Path | bytes, name: str | None, voi_preset: int, max_pixels: int | None,
          all_frames: bool) -> list[Radiograph]:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        label = name or "<upload>"
        head = data[:132]
    else:
        path = Path(source)
        label = name or str(path)
        if not path.is_file():
            raise UnreadableImage(label, "no such file")
        with open(path, "rb") as fh:
            head = fh.read(132)
        data = None
    kind = sniff(head)
    if kind is None and label.lower().endswith((".dcm", ".dicom")):
        kind = "dicom"  # DICOM without the 128-byte preamble: let pydicom try
    if kind is None:
        raise UnreadableImage(label, "not a DICOM, PNG, JPEG or TIFF file (unrecognised header)")
    payload = data if data is not None else Path(source)
    if kind == "dicom":
        if all_frames:
            return read_dicom_frames(payload, label, voi_preset=voi_preset, max_pixels=max_pixels)
        return [read_dicom(payload, label, voi_preset=voi_preset, max_pixels=max_pixels)]
    return [read_raster(payload, label, max_pixels=max_pixels)]
