"""Scanning an archive: what is an image, what is skipped and why."""

from __future__ import annotations

import shutil

import pytest
from pydicom.data import get_testdata_file

from radsearch.errors import ManifestError
from radsearch.indexer import scan


@pytest.fixture()
def dicomdir_media(tmp_path):
    source = get_testdata_file("DICOMDIR")
    assert source is not None
    media = tmp_path / "cd"
    shutil.copytree(__import__("pathlib").Path(source).parent, media)
    return media


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_dicomdir_is_followed_to_its_images(dicomdir_media):
    found = scan(dicomdir_media / "DICOMDIR")
    assert len(found.items) == 31  # every IMAGE record of pydicom's test DICOMDIR
    assert all(item.path.is_file() and item.path.suffix == "" for item in found.items)  # names without .dcm


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_folder_with_a_dicomdir_finds_the_same_images_once(dicomdir_media):
    via_index = {item.path for item in scan(dicomdir_media / "DICOMDIR").items}
    via_folder = {item.path for item in scan(dicomdir_media).items}
    assert via_index <= via_folder
    assert any("DICOMDIR index file" in reason for reason in scan(dicomdir_media).skipped)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_missing_referenced_file_is_counted(dicomdir_media):
    scan(dicomdir_media / "DICOMDIR").items[0].path.unlink()
    found = scan(dicomdir_media / "DICOMDIR")
    assert found.skipped["listed in the DICOMDIR but missing"] == 1 and len(found.items) == 30


def test_a_broken_dicomdir_names_itself(tmp_path):
    (tmp_path / "DICOMDIR").write_bytes(b"\0" * 200)
    with pytest.raises(ManifestError, match="DICOMDIR"):
        scan(tmp_path / "DICOMDIR")


def test_a_missing_source_says_what_to_give(tmp_path):
    with pytest.raises(ManifestError, match="archive folder, a manifest CSV or an image file"):
        scan(tmp_path / "nowhere")
