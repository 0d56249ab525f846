"""The fast path (a LUT over stored values) gives exactly the per-pixel result."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from radsearch.datasets.synthetic import render, write_dicom
from radsearch.imaging.dicom import _display_pixels, _display_values

CHEST = render(np.random.default_rng(4), "CHEST", "PA", size=(320, 300)).pixels  # 96k pixels: table path


def _variants(tmp_path):
    yield write_dicom(CHEST, tmp_path / "w.dcm", {"PatientID": "P"})
    yield write_dicom(CHEST, tmp_path / "m1.dcm", {"PatientID": "P"}, monochrome1=True)
    yield write_dicom(CHEST, tmp_path / "r.dcm", {"PatientID": "P"}, rescale=True)
    yield write_dicom(CHEST, tmp_path / "16.dcm", {"PatientID": "P"}, bits_stored=16)  # no window: min-max
    narrow = write_dicom(CHEST, tmp_path / "n.dcm", {"PatientID": "P"})
    ds = pydicom.dcmread(narrow)
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = 1800, 300, "SIGMOID"
    ds.save_as(narrow)
    yield narrow
    missed = write_dicom(CHEST, tmp_path / "x.dcm", {"PatientID": "P"})
    ds = pydicom.dcmread(missed)
    ds.WindowCenter, ds.WindowWidth = 60000, 10
    ds.save_as(missed)
    yield missed


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_table_path_equals_per_pixel_path(tmp_path):
    paths = list(_variants(tmp_path)) + [get_testdata_file("RG1_UNCI.dcm"), get_testdata_file("CT_small.dcm")]
    for path in paths:
        ds = pydicom.dcmread(path)
        raw = ds.pixel_array
        assert raw.size > 65536 or path.endswith("CT_small.dcm")
        np.testing.assert_allclose(_display_pixels(ds, raw), _display_values(ds, raw, "x", 0), atol=1e-6,
                                   err_msg=str(path))
