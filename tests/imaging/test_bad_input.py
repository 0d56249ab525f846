"""Bad input: oversized, truncated and bit-flipped files give UnreadableImage, never a crash or an OOM."""

from __future__ import annotations

import functools
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from radsearch.datasets.synthetic import render, write_dicom, write_png
from radsearch.errors import UnreadableImage
from radsearch.imaging import Radiograph, read

CHEST = render(np.random.default_rng(1), "CHEST", "PA", size=(48, 40)).pixels


@functools.cache
def _original(kind: str) -> bytes:
    """The same valid file for every example (hypothesis needs the input not to change under it)."""
    folder = Path(tempfile.mkdtemp(prefix="radsearch-fuzz-"))
    if kind == "dicom":
        tags = {"PatientID": "P", "SOPInstanceUID": "1.2.3.4.5"}  # a fixed UID: no random bytes in the file
        return write_dicom(CHEST, folder / "f.dcm", tags).read_bytes()
    if kind == "png16":
        return write_png(CHEST, folder / "f.png", bits=16).read_bytes()
    buffer = io.BytesIO()
    Image.fromarray((CHEST * 255).astype(np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_header_declaring_a_gigantic_image_is_refused_before_decoding(tmp_path):
    path = write_dicom(CHEST, tmp_path / "bomb.dcm", {"PatientID": "P"})
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 60000, 60000, 20  # 72 gigapixels declared, 4 KB stored
    ds.save_as(path)
    started = time.time()
    with pytest.raises(UnreadableImage, match="over the limit"):
        read(path)
    assert time.time() - started < 2


def test_a_png_bomb_is_refused_by_the_configurable_limit(tmp_path):
    Image.new("L", (5000, 5000)).save(tmp_path / "big.png")  # 25 MP of zeros: a few KB compressed
    with pytest.raises(UnreadableImage, match="over the limit of 10"):
        read(tmp_path / "big.png", max_pixels=10_000_000)
    assert read(tmp_path / "big.png").shape == (5000, 5000)  # within the default limit


def test_the_limit_can_be_set_for_a_whole_deployment(tmp_path, monkeypatch):
    path = write_png(CHEST, tmp_path / "small.png")
    monkeypatch.setenv("RADSEARCH_MAX_PIXELS", "100")
    with pytest.raises(UnreadableImage, match="RADSEARCH_MAX_PIXELS"):
        read(path)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns on the corrupted values it reads
@pytest.mark.parametrize("kind", ["dicom", "png16", "jpeg"])
@settings(max_examples=60, deadline=2000)
@given(data=st.data())
def test_corrupted_bytes_give_an_image_or_unreadable_image(kind, data):
    blob = bytearray(_original(kind))
    if data.draw(st.booleans(), label="truncate"):
        blob = blob[: data.draw(st.integers(0, len(blob)), label="length")]
    for _ in range(data.draw(st.integers(0, 8), label="flips")):
        if blob:
            at = data.draw(st.integers(0, len(blob) - 1), label="at")
            blob[at] = data.draw(st.integers(0, 255), label="byte")
    try:
        image = read(bytes(blob), name=f"fuzzed.{kind}")
    except UnreadableImage as e:
        assert "fuzzed" in str(e)
        return
    assert isinstance(image, Radiograph) and image.pixels.ndim == 2
    assert np.isfinite(image.pixels).all() and image.pixels.min() >= 0 and image.pixels.max() <= 1
