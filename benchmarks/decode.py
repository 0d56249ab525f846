"""Decode speed at 2048x2048: radsearch.imaging.read (viewer-correct pixels) vs the bare decoder.

For each format a synthetic 2048x2048 chest radiograph is written once, then decoded repeatedly:
  baseline  = the library alone (pydicom's pixel_array, or Pillow's load), no LUTs, no scaling;
  radsearch = imaging.read: header checks, modality LUT, VOI window, MONOCHROME1, float [0, 1].
The LUT step is also timed alone: per-pixel evaluation vs the table over stored values that read uses.
JPEG-LS is also decoded by each installed plugin, to show which one radsearch should prefer.

    python benchmarks/decode.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from radsearch.datasets.synthetic import render, write_dicom, write_png
from radsearch.imaging import read
from radsearch.imaging.dicom import _display_pixels, _display_values

SIZE = (2048, 2048)


def _rate(fn, repeat: int) -> float:
    fn()  # warm-up: imports, plugin discovery
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return repeat / (time.perf_counter() - started)


def _files(folder: Path) -> dict[str, Path]:
    pixels = render(np.random.default_rng(0), "CHEST", "PA", size=SIZE).pixels
    plain = write_dicom(pixels, folder / "plain.dcm", {"PatientID": "P"}, bits_stored=12)
    files = {"DICOM uncompressed 12-bit": plain}
    for name, syntax in (("DICOM RLE", RLELossless), ("DICOM JPEG 2000 lossless", JPEG2000Lossless),
                         ("DICOM JPEG-LS lossless", JPEGLSLossless)):
        ds = pydicom.dcmread(plain)
        ds.compress(syntax)
        ds.save_as(folder / f"{syntax.name[:8]}.dcm")
        files[name] = folder / f"{syntax.name[:8]}.dcm"
    files["PNG 16-bit"] = write_png(pixels, folder / "16.png", bits=16)
    files["PNG 8-bit"] = write_png(pixels, folder / "8.png", bits=8)
    buffer = io.BytesIO()
    Image.fromarray((pixels * 255).astype(np.uint8)).save(buffer, format="JPEG", quality=92)
    (folder / "x.jpg").write_bytes(buffer.getvalue())
    files["JPEG"] = folder / "x.jpg"
    return files


def _bare(path: Path):
    if path.suffix == ".dcm":
        return lambda: pydicom.dcmread(path).pixel_array
    return lambda: np.asarray(Image.open(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = _files(Path(tmp))
        print(f"decode of one {SIZE[0]}x{SIZE[1]} image, images/s on one process ({args.repeat} repeats)")
        print(f"{'format':<28}{'bare decoder':>14}{'imaging.read':>14}{'read/bare':>11}")
        for name, path in files.items():
            bare = _rate(_bare(path), args.repeat)
            ours = _rate(lambda p=path: read(p), args.repeat)
            print(f"{name:<28}{bare:>14.1f}{ours:>14.1f}{ours / bare:>11.2f}")
        plain = pydicom.dcmread(files["DICOM uncompressed 12-bit"])
        raw = plain.pixel_array
        per_pixel = _rate(lambda: _display_values(plain, raw, "bench", 0), args.repeat)
        table = _rate(lambda: _display_pixels(plain, raw), args.repeat)
        print(f"\nLUTs on a decoded 2048x2048 12-bit image, images/s: per pixel {per_pixel:.1f}, "
              f"table over stored values {table:.1f}, table / per pixel = {table / per_pixel:.2f}")
        jls = files["DICOM JPEG-LS lossless"]
        print("\nJPEG-LS lossless by decoder plugin (bare pixel_array), images/s:")
        rates = {}
        for plugin in ("pyjpegls", "pylibjpeg"):
            def decode(plugin=plugin):
                ds = pydicom.dcmread(jls)
                ds.pixel_array_options(decoding_plugin=plugin)
                return ds.pixel_array
            try:
                rates[plugin] = _rate(decode, args.repeat)
                print(f"  {plugin:<12}{rates[plugin]:>8.1f}")
            except Exception as e:  # plugin not installed
                print(f"  {plugin:<12} unavailable ({e.__class__.__name__})")
        if len(rates) == 2:
            print(f"  pyjpegls / pylibjpeg = {rates['pyjpegls'] / rates['pylibjpeg']:.2f}")


if __name__ == "__main__":
    main()
