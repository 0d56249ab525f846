"""Every supported transfer syntax decodes to the same picture as its uncompressed twin.

Twins come from pydicom's and pydicom-data's test files (the same image stored in several
syntaxes) and from compressing a synthetic radiograph here.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from radsearch.datasets.synthetic import render, write_dicom
from radsearch.errors import UnreadableImage
from radsearch.imaging import read


def _file(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None, f"{name} not found: install the test extras (pydicom-data)"
    return path


# (uncompressed reference, same image in another syntax, largest allowed pixel difference)
TWINS = [
    ("MR_small.dcm", "MR_small_RLE.dcm", 0.0),  # RLE lossless
    ("MR_small.dcm", "MR_small_jp2klossless.dcm", 0.0),  # JPEG 2000 lossless
    ("MR_small.dcm", "MR_small_jpeg_ls_lossless.dcm", 0.0),  # JPEG-LS lossless
    ("MR_small.dcm", "MR_small_bigendian.dcm", 0.0),  # explicit VR big endian
    ("MR_small.dcm", "MR_small_implicit.dcm", 0.0),  # implicit VR little endian
    ("RG1_UNCI.dcm", "RG1_J2KI.dcm", 0.0),  # real CR chest, MONOCHROME1, JPEG 2000
    ("RG1_UNCR.dcm", "RG1_J2KR.dcm", 0.0),  # real CR chest, MONOCHROME1, JPEG 2000 lossless
    ("RG3_UNCR.dcm", "RG3_J2KR.dcm", 0.0),  # real CR extremity, JPEG 2000 lossless
    ("SC_rgb.dcm", "SC_rgb_rle.dcm", 0.0),  # RGB -> grayscale, RLE
    ("SC_rgb.dcm", "SC_rgb_jpeg_gdcm.dcm", 0.0),  # JPEG lossless (process 14 SV1), RGB
    ("SC_rgb.dcm", "SC_rgb_dcmtk_+eb+cy+s4.dcm", 0.02),  # JPEG baseline, YBR_FULL (lossy)
    ("SC_rgb.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm", 0.04),  # JPEG baseline, YBR_FULL_422 (lossy)
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("reference", "twin", "tolerance"), TWINS, ids=[t[1] for t in TWINS])
def test_compressed_twin_reads_like_the_uncompressed_file(reference, twin, tolerance):
    expected = read(_file(reference)).pixels
    actual = read(_file(twin)).pixels
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= tolerance + 1e-6


SINGLES = ["JPGExtended.dcm",  # JPEG extended (process 2 and 4), 12-bit
           "JPEG-LL.dcm",  # JPEG lossless, 16-bit
           "JPEGLSNearLossless_16.dcm",  # JPEG-LS near-lossless
           "image_dfl.dcm",  # deflated explicit VR little endian
           "SC_ybr_full_uncompressed.dcm",  # YBR_FULL uncompressed
           "US1_J2KI.dcm",  # JPEG 2000 lossy, YBR_ICT
           "examples_palette.dcm"]  # palette colour


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", SINGLES)
def test_other_syntaxes_decode_to_a_sane_picture(name):
    pixels = read(_file(name)).pixels
    assert pixels.ndim == 2 and pixels.dtype == np.float32
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0 and pixels.std() > 0.01


@pytest.fixture(scope="module")
def synthetic_dicom(tmp_path_factory):
    chest = render(np.random.default_rng(2), "CHEST", "PA", size=(96, 80)).pixels
    return write_dicom(chest, tmp_path_factory.mktemp("syntax") / "plain.dcm", {"PatientID": "P"}, bits_stored=12)


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless, JPEGLSLossless], ids=lambda s: s.name)
def test_radiograph_compressed_here_reads_back_unchanged(synthetic_dicom, tmp_path, syntax):
    ds = pydicom.dcmread(synthetic_dicom)
    ds.compress(syntax)
    ds.save_as(tmp_path / "compressed.dcm")
    assert pydicom.dcmread(tmp_path / "compressed.dcm").file_meta.TransferSyntaxUID == syntax
    np.testing.assert_array_equal(read(tmp_path / "compressed.dcm").pixels, read(synthetic_dicom).pixels)


def test_deflated_radiograph_reads_back_unchanged(synthetic_dicom, tmp_path):
    ds = pydicom.dcmread(synthetic_dicom)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(tmp_path / "deflated.dcm")
    np.testing.assert_array_equal(read(tmp_path / "deflated.dcm").pixels, read(synthetic_dicom).pixels)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_broken_jpeg_stream_is_unreadable_with_its_syntax_named():
    with pytest.raises(UnreadableImage, match="JPEG Extended"):
        read(_file("JPEG-lossy.dcm"))  # pydicom's known-bad file: a misplaced JPEG marker
