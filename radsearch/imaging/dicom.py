"""DICOM decoding as a viewer does it: modality LUT, VOI LUT or first window, MONOCHROME1 inverted."""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

from ..columns import read_dicom as read_columns
from ..errors import NoPixelData, UnreadableImage
from .header import header_json
from .limits import check_pixel_count
from .radiograph import Radiograph

log = logging.getLogger(__name__)
LUT_MIN_PIXELS = 1 << 16  # below this, per-pixel evaluation is as fast as building a table
LUT_MAX_LEVELS = 1 << 20  # stored-value ranges wider than this (32-bit data) are evaluated per pixel
JPEG_LS = ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81")
FULL_RANGE = -1  # voi_preset meaning "no window": the whole range of modality values, for a viewer to window


def read_dicom(source: str | Path | bytes, name: str, voi_preset: int = 0, max_pixels: int | None = None) -> Radiograph:
    """Decode one DICOM file (path or bytes) into display pixels in [0, 1] and metadata.

    A multi-frame file gives its first frame here (see `read_dicom_frames` for all of them).
    voi_preset: which window / VOI LUT to apply when the file stores several (0 = the first).
    max_pixels: refuse images declaring more pixels than this (see imaging.limits).
    """
    return _guarded(source, name, voi_preset, max_pixels, all_frames=False)[0]


def read_dicom_frames(source: str | Path | bytes, name: str, voi_preset: int = 0,
                      max_pixels: int | None = None) -> list[Radiograph]:
    """Every frame of a DICOM file as its own Radiograph (metadata `frame` = 0, 1, ...)."""
    return _guarded(source, name, voi_preset, max_pixels, all_frames=True)


def _guarded(source: str | Path | bytes, name: str, voi_preset: int, max_pixels: int | None,
             all_frames: bool) -> list[Radiograph]:
    try:
        return _read_dicom(source, name, voi_preset, max_pixels, all_frames)
    except UnreadableImage:
        raise
    except Exception as e:  # a parser of untrusted bytes: any failure means "cannot read", never a crash
        raise UnreadableImage(name, f"malformed DICOM ({type(e).__name__}: {e})") from e


def _read_dicom(source: str | Path | bytes, name: str, voi_preset: int, max_pixels: int | None,
                all_frames: bool) -> list[Radiograph]:
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        ds = pydicom.dcmread(fp)
    except (InvalidDicomError, OSError, ValueError, EOFError) as e:
        raise UnreadableImage(name, f"not a readable DICOM file ({e})") from e
    if "PixelData" not in ds:
        raise NoPixelData(name, "DICOM file has no pixel data (is it a report or a DICOMDIR?)")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    check_pixel_count(name, int(ds.get("Columns", 0) or 0), int(ds.get("Rows", 0) or 0),
                      frames=frames if all_frames else 1, samples=int(ds.get("SamplesPerPixel", 1) or 1),
                      limit=max_pixels)
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    options: dict[str, Any] = {}
    if str(syntax) in JPEG_LS and _has_pyjpegls():
        options["decoding_plugin"] = "pyjpegls"  # CharLS: ~4x pylibjpeg (benchmarks/decode.py)
    if frames > 1 and not all_frames:
        options["index"] = 0  # decode the first frame only
        log.warning("%s: multi-frame DICOM (%d frames), using the first frame", name, frames)
    if options:
        ds.pixel_array_options(**options)
    try:
        raw = ds.pixel_array
    except Exception as e:  # pixel handlers raise many types; all mean "cannot decode"
        raise UnreadableImage(
            name, f"cannot decode pixel data (transfer syntax {getattr(syntax, 'name', syntax or 'unknown')}): {e}"
        ) from e
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    stack = raw if frames > 1 and all_frames else raw[np.newaxis]  # (F, H, W[, 3])
    if stack.ndim != (4 if samples > 1 else 3):
        raise UnreadableImage(name, f"pixel data has shape {raw.shape}, which does not match the header")
    metadata = dicom_metadata(ds)
    metadata["frames"] = frames
    metadata["header"] = header_json(ds)
    radiographs = [Radiograph(pixels=_frame_pixels(ds, frame, name, voi_preset), metadata=dict(metadata, frame=i),
                              source=name) for i, frame in enumerate(stack)]
    if voi_preset == FULL_RANGE:  # the header's windows, in the units of these full-range pixels
        for radiograph, frame in zip(radiographs, stack):
            radiograph.metadata["windows"] = _windows_in_range(ds, frame)
    return radiographs


def _frame_pixels(ds: pydicom.Dataset, raw: np.ndarray, name: str, voi_preset: int) -> np.ndarray:
    """Display pixels of one frame: colour to gray, else the modality and VOI LUTs."""
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    if photometric == "PALETTE COLOR":
        raw = apply_color_lut(raw, ds)
    if raw.ndim == 3:  # RGB; YBR was already converted to RGB by pydicom
        gray = raw[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return _minmax(gray)
    return _display_pixels(ds, raw, name, voi_preset)


def voi_preset_names(source: str | Path | bytes) -> list[str]:
    """Names of the windows / VOI LUTs a DICOM header offers, in preset order ([] for other files):
    the header's explanations where it has them, else "centre C / width W"."""
    try:
        ds = pydicom.dcmread(io.BytesIO(source) if isinstance(source, bytes) else source, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - not a DICOM (a PNG or JPEG has no presets)
        return []
    return _preset_names(ds)


def _preset_names(ds: pydicom.Dataset) -> list[str]:
    count = voi_preset_count(ds)
    if not count:
        return []
    if "VOILUTSequence" in ds:
        return [str(item.get("LUTExplanation", "") or f"VOI LUT {n + 1}") for n, item in enumerate(ds.VOILUTSequence)]
    def listed(value) -> list:  # noqa: ANN001
        return list(value) if isinstance(value, pydicom.multival.MultiValue) else [value]
    centres, widths = listed(ds.WindowCenter), listed(ds.WindowWidth)
    explanations = listed(ds.get("WindowCenterWidthExplanation", [])) if "WindowCenterWidthExplanation" in ds else []
    return [str(explanations[n]) if n < len(explanations) and explanations[n] else
            f"centre {float(centres[n]):g} / width {float(widths[min(n, len(widths) - 1)]):g}" for n in range(count)]


def _windows_in_range(ds: pydicom.Dataset, raw: np.ndarray) -> list[dict[str, Any]]:
    """The header's VOI presets as {name, centre, width} on the [0, 1] scale of FULL_RANGE pixels (so a
    viewer can apply and adjust them on those pixels). A VOI LUT is given as its input range, the linear
    window closest to it. Colour images have none; a window that misses every value is left out."""
    count = voi_preset_count(ds)
    if not count or raw.ndim != 2:
        return []
    if "ModalityLUTSequence" in ds:
        values = apply_modality_lut(raw, ds)
        low, high = float(np.min(values)), float(np.max(values))
    else:
        ends = apply_modality_lut(np.array([raw.min(), raw.max()]), ds)
        low, high = float(np.min(ends)), float(np.max(ends))
    span = (high - low) or 1.0
    inverted = str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1" or \
        str(ds.get("PresentationLUTShape", "")).strip().upper() == "INVERSE"
    if "VOILUTSequence" in ds:
        windows = []
        for item in ds.VOILUTSequence:
            entries, first = int(item.LUTDescriptor[0]) or 65536, float(item.LUTDescriptor[1])
            windows.append((first + entries / 2, float(entries)))
    else:
        def listed(value) -> list:  # noqa: ANN001
            return list(value) if isinstance(value, pydicom.multival.MultiValue) else [value]
        centres, widths = listed(ds.WindowCenter), listed(ds.WindowWidth)
        windows = [(float(centres[n]), float(widths[min(n, len(widths) - 1)])) for n in range(count)]
    out = []
    for name, (centre, width) in zip(_preset_names(ds), windows):
        level, share = (centre - low) / span, max(width / span, 1e-4)
        if level + share / 2 < 0 or level - share / 2 > 1:
            continue  # misses this image's values entirely (the reader shows such files at full range too)
        out.append({"name": name, "centre": 1.0 - level if inverted else level, "width": share})
    return out


def voi_preset_count(ds: pydicom.Dataset) -> int:
    """How many VOI presets (LUTs or windows) a header offers."""
    if "VOILUTSequence" in ds:
        return len(ds.VOILUTSequence)
    if "WindowCenter" in ds and "WindowWidth" in ds:
        centre = ds.WindowCenter
        return len(centre) if isinstance(centre, pydicom.multival.MultiValue) else 1
    return 0


def _display_pixels(ds: pydicom.Dataset, raw: np.ndarray, name: str = "<dicom>", voi_preset: int = 0) -> np.ndarray:
    """Display pixels for a whole image, through a table over its stored values when that is exact.

    Modality and VOI LUTs are functions of the stored value alone, so a viewer computes them once per
    value in [min, max] and indexes; with a linear modality LUT the image's min and max are the
    table's ends too, so the result is identical to per-pixel evaluation (5.5x faster at 2048^2,
    benchmarks/decode.py).
    """
    if np.issubdtype(raw.dtype, np.integer) and raw.size > LUT_MIN_PIXELS and "ModalityLUTSequence" not in ds:
        low, high = int(raw.min()), int(raw.max())
        if high - low <= LUT_MAX_LEVELS:
            table = _display_values(ds, np.arange(low, high + 1, dtype=np.int64), name, voi_preset)
            if low < 0:
                return np.take(table, raw.astype(np.int32) - low)
            # index by the stored value itself: np.take on unshifted values is ~4x faster than shifting
            padded = np.empty(high + 1, dtype=table.dtype)
            padded[:low], padded[low:] = table[0], table
            return np.take(padded, raw)
    return _display_values(ds, raw, name, voi_preset)


def _display_values(ds: pydicom.Dataset, raw: np.ndarray, name: str, voi_preset: int) -> np.ndarray:
    """Modality LUT, then a VOI preset, scaled to [0, 1]; MONOCHROME1 / INVERSE shown dense-is-bright."""
    values = apply_modality_lut(raw, ds).astype(np.float64)
    presets = 0 if voi_preset == FULL_RANGE else voi_preset_count(ds)
    if presets and not 0 <= voi_preset < presets:
        raise UnreadableImage(name, f"asked for VOI preset {voi_preset}, the file has {presets} (0..{presets - 1})")
    if presets:
        shown = apply_voi_lut(values, ds, index=voi_preset)
        # The VOI output range is fixed by the LUT/window, not by this image: probe its ends.
        with np.errstate(over="ignore"):  # SIGMOID saturates to its limits out there, which is what we want
            ends = apply_voi_lut(np.array([values.min() - 1e9, values.max() + 1e9]), ds, index=voi_preset)
        low, high = float(np.min(ends)), float(np.max(ends))
        pixels = (shown - low) / (high - low) if high > low else _minmax(shown)
        if np.ptp(np.clip(pixels, 0, 1)) == 0 and np.ptp(values) > 0:
            # every pixel saturates: the stored window misses this image's values entirely
            log.warning("%s: window/VOI LUT lies outside the pixel range; showing the full range", name)
            pixels = _minmax(values)
    else:
        pixels = _minmax(values)
    pixels = np.clip(pixels, 0.0, 1.0).astype(np.float32)
    # MONOCHROME1 stores dense tissue as low values; Presentation LUT Shape INVERSE asks for the same
    # single inversion (DX requires INVERSE with MONOCHROME1, so the two never invert twice).
    monochrome1 = str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1"
    inverse = str(ds.get("PresentationLUTShape", "")).strip().upper() == "INVERSE"
    if monochrome1 or inverse:
        pixels = 1.0 - pixels
    return pixels


@functools.cache
def _has_pyjpegls() -> bool:
    return importlib.util.find_spec("jpeg_ls") is not None


def _minmax(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def dicom_metadata(ds: pydicom.Dataset) -> dict[str, Any]:
    """The header facts radsearch stores: every registry column that reads the header (radsearch.columns),
    plus the study, series and geometry facts that group and place images."""

    def text(keyword: str) -> str | None:
        value = ds.get(keyword)
        if value is None or str(value).strip() == "":
            return None
        return str(value).strip()

    def numbers(*keywords: str) -> list[float] | None:
        for keyword in keywords:
            value = ds.get(keyword)
            if value not in (None, ""):
                try:
                    return [float(v) for v in (value if isinstance(value, (list, pydicom.multival.MultiValue))
                                               else [value])]
                except (TypeError, ValueError):
                    return None
        return None

    orientation = ds.get("PatientOrientation")
    return read_columns(ds.get) | {
        "study_uid": text("StudyInstanceUID"),
        "series_uid": text("SeriesInstanceUID"),
        "accession": text("AccessionNumber"),  # the indexer stores only its pseudonym (radsearch.privacy)
        "series_number": _int(ds.get("SeriesNumber")),
        # no SeriesDescription: free text that PS3.15 removes (technologists type names into it)
        # detector spacing when the image plane spacing is absent (projection radiography), in mm
        "pixel_spacing": numbers("PixelSpacing", "ImagerPixelSpacing"),
        "image_orientation": numbers("ImageOrientationPatient"),
        "patient_orientation": list(orientation) if isinstance(orientation, pydicom.multival.MultiValue)
        else (str(orientation) if orientation else None),
    }


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
