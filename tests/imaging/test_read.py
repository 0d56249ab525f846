"""imaging.read: pixels as a viewer shows them, metadata from the header, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from radsearch.datasets.synthetic import render, write_dicom, write_png
from radsearch.errors import UnreadableImage
from radsearch.imaging import read, read_frames

TAGS = {"PatientID": "P1", "PatientSex": "F", "PatientAge": "045Y", "StudyInstanceUID": "1.2.3.4",
        "SeriesInstanceUID": "1.2.3.4.5", "SOPInstanceUID": "1.2.3.4.5.6", "StudyDate": "20200131",
        "Modality": "CR", "BodyPartExamined": "CHEST", "ViewPosition": "PA", "ImageLaterality": "L"}


@pytest.fixture(scope="module")
def chest() -> np.ndarray:
    return render(np.random.default_rng(0), "CHEST", "PA", size=(96, 80)).pixels


def test_monochrome1_reads_the_same_as_its_monochrome2_twin(chest, tmp_path):
    mono2 = read(write_dicom(chest, tmp_path / "m2.dcm", TAGS, monochrome1=False)).pixels
    mono1 = read(write_dicom(chest, tmp_path / "m1.dcm", TAGS, monochrome1=True)).pixels
    np.testing.assert_allclose(mono1, mono2, atol=1e-3)
    # and both show the anatomy the right way round: dense heart/spine brighter than lung
    assert mono1[60, 40] > mono1[40, 20]


def test_rescale_intercept_and_window_give_the_same_picture(chest, tmp_path):
    plain = read(write_dicom(chest, tmp_path / "plain.dcm", TAGS)).pixels
    rescaled = read(write_dicom(chest, tmp_path / "rescaled.dcm", TAGS, rescale=True)).pixels
    np.testing.assert_allclose(rescaled, plain, atol=1e-3)
    np.testing.assert_allclose(plain, chest, atol=1e-3)


def test_16_bit_dicom_without_window_uses_its_full_range(chest, tmp_path):
    pixels = read(write_dicom(chest, tmp_path / "16.dcm", TAGS, bits_stored=16)).pixels
    assert pixels.min() == 0.0 and pixels.max() == 1.0
    assert np.corrcoef(pixels.ravel(), chest.ravel())[0, 1] > 0.999


def test_window_outside_the_pixel_range_falls_back_to_full_range(chest, tmp_path):
    path = write_dicom(chest, tmp_path / "badwindow.dcm", TAGS)
    import pydicom
    ds = pydicom.dcmread(path)
    ds.WindowCenter, ds.WindowWidth = 60000, 100  # far above any stored value
    ds.save_as(path)
    pixels = read(path).pixels
    assert np.ptp(pixels) > 0.9  # not a blank white frame


def test_dicom_metadata_is_extracted(chest, tmp_path):
    meta = read(write_dicom(chest, tmp_path / "m.dcm", TAGS)).metadata
    assert meta["patient_id"] == "P1" and meta["sex"] == "F" and meta["age"] == 45.0
    assert meta["study_uid"] == "1.2.3.4" and meta["series_uid"] == "1.2.3.4.5" and meta["sop_uid"] == "1.2.3.4.5.6"
    assert (meta["modality"], meta["body_part"], meta["view"], meta["laterality"]) == ("CR", "CHEST", "PA", "L")
    assert meta["study_date"] == "2020-01-31"  # ISO, as the catalog stores and filters it


def test_16_bit_png_keeps_its_depth(chest, tmp_path):
    pixels = read(write_png(chest, tmp_path / "16.png", bits=16)).pixels
    assert len(np.unique(pixels)) > 256  # an 8-bit path would quantise to at most 256 levels
    np.testing.assert_allclose(pixels, chest, atol=1e-4)


def test_8_bit_png_and_jpeg_read_as_unit_floats(chest, tmp_path):
    png = read(write_png(chest, tmp_path / "8.png", bits=8)).pixels
    Image.fromarray((chest * 255).astype(np.uint8)).save(tmp_path / "x.jpg", quality=95)
    jpeg = read(tmp_path / "x.jpg").pixels
    assert png.dtype == np.float32 and 0 <= png.min() and png.max() <= 1
    np.testing.assert_allclose(png, chest, atol=1 / 255 + 1e-6)
    assert np.abs(jpeg - chest).mean() < 0.02


def test_bytes_read_like_the_file(chest, tmp_path):
    path = write_dicom(chest, tmp_path / "b.dcm", TAGS)
    np.testing.assert_array_equal(read(path.read_bytes(), name="upload.dcm").pixels, read(path).pixels)


def test_truncated_dicom_raises_unreadable_image_naming_the_file(chest, tmp_path):
    path = write_dicom(chest, tmp_path / "broken.dcm", TAGS)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(UnreadableImage) as info:
        read(path)
    assert "broken.dcm" in str(info.value)


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not pixels")
    with pytest.raises(UnreadableImage, match="notes.txt"):
        read(path)


def test_missing_file_is_reported_as_such(tmp_path):
    with pytest.raises(UnreadableImage, match="no such file"):
        read(tmp_path / "nope.dcm")


def test_real_compressed_xray_dicoms_decode(shared_dicoms):
    for path in sorted(shared_dicoms.glob("*.dcm")):
        pixels = read(path).pixels
        assert pixels.ndim == 2 and min(pixels.shape) > 1000, path.name
        assert 0.0 <= pixels.min() and pixels.max() <= 1.0 and np.ptp(pixels) > 0.5, path.name


def _with(path, **tags):
    import pydicom
    ds = pydicom.dcmread(path)
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.save_as(path)
    return path


def test_presentation_lut_inverse_inverts_a_monochrome2_image(chest, tmp_path):
    plain = read(write_dicom(chest, tmp_path / "p.dcm", TAGS)).pixels
    inverse = read(_with(write_dicom(chest, tmp_path / "i.dcm", TAGS), PresentationLUTShape="INVERSE")).pixels
    np.testing.assert_allclose(inverse, 1.0 - plain, atol=1e-6)


def test_monochrome1_with_presentation_lut_inverse_is_inverted_once(chest, tmp_path):
    plain = read(write_dicom(chest, tmp_path / "p.dcm", TAGS)).pixels
    mono1 = read(_with(write_dicom(chest, tmp_path / "m1.dcm", TAGS, monochrome1=True),
                       PresentationLUTShape="INVERSE")).pixels
    np.testing.assert_allclose(mono1, plain, atol=1e-3)


def test_the_first_window_is_the_default_and_others_can_be_chosen(chest, tmp_path):
    from pydicom.multival import MultiValue
    path = write_dicom(chest, tmp_path / "w.dcm", TAGS)
    # preset 0: full range; preset 1: a narrow "lung" window around the mid grey
    _with(path, WindowCenter=MultiValue(float, [2048, 1500]), WindowWidth=MultiValue(float, [4096, 400]))
    first, narrow = read(path).pixels, read(path, voi_preset=1).pixels
    np.testing.assert_allclose(first, chest, atol=1e-3)
    assert (narrow == 0).mean() > (first == 0).mean() and (narrow == 1).mean() > (first == 1).mean()
    with pytest.raises(UnreadableImage, match="VOI preset 5"):
        read(path, voi_preset=5)


def test_palette_colour_is_mapped_through_its_lut():
    from pydicom.data import get_testdata_file
    pixels = read(get_testdata_file("OBXXXX1A.dcm")).pixels  # PALETTE COLOR ultrasound
    indices = __import__("pydicom").dcmread(get_testdata_file("OBXXXX1A.dcm")).pixel_array
    assert pixels.shape == indices.shape
    assert not np.allclose(pixels, indices / max(indices.max(), 1), atol=0.02)  # not the raw index values


def test_equipment_geometry_and_age_from_birth_date_are_extracted(chest, tmp_path):
    tags = dict(TAGS, Manufacturer="ACME", ManufacturerModelName="DR-1", InstitutionName="General",
                ImagerPixelSpacing=[0.143, 0.143], PatientOrientation=["L", "F"], PatientBirthDate="19800215",
                StudyDate="20200131")
    del tags["PatientAge"]
    meta = read(write_dicom(chest, tmp_path / "e.dcm", tags)).metadata
    assert (meta["manufacturer"], meta["manufacturer_model"], meta["institution"]) == ("ACME", "DR-1", "General")
    assert meta["pixel_spacing"] == [0.143, 0.143] and meta["patient_orientation"] == ["L", "F"]
    assert meta["age"] == 39.0  # birthday not yet reached on 31 January
    assert "19800215" not in str(meta)  # the birth date is used, not kept


def test_16_bit_tiff_keeps_its_depth(chest, tmp_path):
    Image.fromarray(np.round(chest * 65535).astype(np.uint16)).save(tmp_path / "x.tif")
    pixels = read(tmp_path / "x.tif").pixels
    assert len(np.unique(pixels)) > 256
    np.testing.assert_allclose(pixels, chest, atol=1e-4)


def test_modality_lut_sequence_is_applied(chest, tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence
    path = write_dicom(chest, tmp_path / "lut.dcm", TAGS, bits_stored=12)
    ds = __import__("pydicom").dcmread(path)
    del ds.WindowCenter, ds.WindowWidth  # no VOI: the output is the LUT's values, min-max scaled
    item = Dataset()
    levels = np.arange(4096)
    item.LUTDescriptor = [4096, 0, 16]
    item.ModalityLUTType = "US"
    item.LUTData = (np.sqrt(levels / 4095) * 65535).astype("<u2").tobytes()  # a non-linear LUT, as OW
    ds.ModalityLUTSequence = Sequence([item])
    ds.save_as(path)
    stored = np.round(chest * 4095)
    expected = np.sqrt(stored / 4095)
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(read(path).pixels, expected, atol=2e-4)


def test_read_frames_gives_every_frame_and_read_gives_the_first():
    path = get_testdata_file("emri_small.dcm")  # MR, 10 frames of 64x64
    frames = read_frames(path)
    assert [f.metadata["frame"] for f in frames] == list(range(10))
    assert all(f.metadata["frames"] == 10 for f in frames)
    assert not np.array_equal(frames[0].pixels, frames[5].pixels)
    np.testing.assert_array_equal(read(path).pixels, frames[0].pixels)


def test_accession_and_series_are_read_and_the_header_json_has_no_identity(chest, tmp_path):
    tags = TAGS | {"AccessionNumber": "A77", "SeriesNumber": 3, "SeriesDescription": "CHEST PA",
                   "PatientName": "Roe^Richard", "PatientBirthDate": "19700101"}
    meta = read(write_dicom(chest, tmp_path / "a.dcm", tags)).metadata
    assert (meta["accession"], meta["series_number"]) == ("A77", 3)
    assert "series_description" not in meta and "CHEST PA" not in str(meta["header"])  # free text: PS3.15 X
    header = str(meta["header"])
    assert "1.2.3.4.5" in header and "Roe" not in header and "19700101" not in header and "A77" not in header


@pytest.mark.parametrize("monochrome1", [False, True], ids=["MONOCHROME2", "MONOCHROME1"])
@pytest.mark.parametrize("rescale", [False, True], ids=["stored", "rescaled"])
def test_full_range_pixels_windowed_by_their_header_window_look_as_a_viewer_shows_them(chest, tmp_path, monochrome1,
                                                                                       rescale):
    """What the compare view receives: every stored value (no window), and the header's windows on the same
    [0, 1] scale, so that the browser applying a window draws what the reader would see."""
    import pydicom

    from radsearch.imaging import FULL_RANGE
    path = write_dicom(chest, tmp_path / "windowed.dcm", TAGS, monochrome1=monochrome1, rescale=rescale)
    ds = pydicom.dcmread(path)
    centre, width = float(ds.WindowCenter), float(ds.WindowWidth)
    ds.WindowCenter, ds.WindowWidth = [centre + width * 0.1, centre], [width * 0.5, width]  # a narrower one first
    ds.save_as(path)
    full = read(path, voi_preset=FULL_RANGE)
    windows = full.metadata["windows"]
    assert [w["name"] for w in windows] == [f"centre {c:g} / width {w:g}" for c, w in
                                            zip(ds.WindowCenter, ds.WindowWidth)]
    for n, window in enumerate(windows):
        shown = read(path, voi_preset=n).pixels
        low = window["centre"] - window["width"] / 2
        drawn = np.clip((full.pixels - low) / window["width"], 0, 1)
        assert np.abs(drawn - shown).max() < 0.01
