"""How faithful a stored copy of an image is: lossless or lossy, bit depth and size. Curation keeps the most
faithful copy of a duplicate group; a lossy or 8-bit export never wins over the original.

A DICOM file is lossy when its transfer syntax can only be lossy, when it says so (Lossy Image Compression
(0028,2110) = "01"), or when a transfer syntax that may be either (JPEG 2000, HTJ2K) does not say it is
lossless. JPEG files are lossy; PNG and TIFF are lossless at their own bit depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom import uid

# lossless by definition (PS3.5 section 8 and 10); every other compressed syntax may be lossy
LOSSLESS_SYNTAXES = {uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.ExplicitVRBigEndian,
                     uid.DeflatedExplicitVRLittleEndian, uid.RLELossless, uid.JPEGLossless, uid.JPEGLosslessSV1,
                     uid.JPEGLSLossless, uid.JPEG2000Lossless, uid.HTJ2KLossless, uid.HTJ2KLosslessRPCL}
LOSSY_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".webp")


@dataclass(frozen=True)
class Fidelity:
    lossy: bool
    bits: int  # bits stored per pixel sample (8 for 8-bit exports)
    pixels: int  # rows x columns

    def rank(self) -> tuple[bool, int, int]:
        """Sorts the most faithful first: lossless, then more bits, then more pixels."""
        return (self.lossy, -self.bits, -self.pixels)


def fidelity(path: str | Path, width: int = 0, height: int = 0) -> Fidelity:
    """The fidelity of the file at `path` (its header only is read); an unreadable DICOM counts as lossy."""
    path = Path(path)
    pixels = int(width or 0) * int(height or 0)
    if path.suffix.lower() in LOSSY_SUFFIXES:
        return Fidelity(True, 8, pixels)
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:  # not DICOM: PNG, TIFF and the like keep what they hold
        return Fidelity(False, _raster_bits(path), pixels)
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None) or uid.ImplicitVRLittleEndian
    says = str(ds.get("LossyImageCompression", "")).strip()
    lossy = says == "01" or (syntax not in LOSSLESS_SYNTAXES and says != "00")
    return Fidelity(lossy, int(ds.get("BitsStored", 8) or 8), int(ds.get("Rows", 0) or 0) * int(ds.get("Columns", 0)
                                                                                               or 0) or pixels)


def _raster_bits(path: Path) -> int:
    try:
        from PIL import Image
        with Image.open(path) as image:
            return 16 if image.mode in ("I;16", "I;16B", "I", "F") else 8
    except Exception:
        return 8
