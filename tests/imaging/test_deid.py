"""`radsearch deid`: shareable copies without identity, grouped as before, repeatable with a salt."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner
from deid_planting import FREE_TEXT, FREE_TEXT_TOKENS, TEXT_VRS, plant_table
from pydicom.dataset import Dataset

from radsearch.cli import main
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.imaging import burned_in, read
from radsearch.imaging.deid import Deidentifier, deidentify_tree
from radsearch.imaging.deid_profile import Profile

needs_ocr = pytest.mark.skipif(not burned_in.available(),
                               reason="Tesseract OCR is not installed (apt-get install tesseract-ocr)")
COMBINATIONS = [(), ("modified-dates",), ("patient-characteristics", "device-identity"), ("clean-descriptors",),
                ("modified-dates", "patient-characteristics", "device-identity", "clean-descriptors")]

IDENTITY = {"PatientName": "Doe^Jane", "PatientID": "MRN-8675309", "AccessionNumber": "ACC-424242",
            "PatientBirthDate": "19611103", "PatientAddress": "12 Elm Street", "StudyDate": "20240105",
            "ReferringPhysicianName": "House^Gregory", "StudyDescription": "Chest for Jane Doe",
            "StudyInstanceUID": "1.2.3.9", "Modality": "CR", "BodyPartExamined": "CHEST", "ViewPosition": "PA"}


def _archive(folder, n=2, **extra):
    """A patient's study as exported by a PACS: folder named after the patient, private tags included."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = write_dicom(render(rng, "CHEST", "PA").pixels, folder / "DOE_JANE" / f"{i}.dcm",
                           IDENTITY | {"SeriesInstanceUID": f"1.2.3.9.{i}"} | extra)
        ds = pydicom.dcmread(path)
        ds.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", "Jane Doe private")
        ds.save_as(path)
        paths.append(path)
    (folder / "notes.txt").write_text("not DICOM")
    return paths


def _all_text(folder) -> str:
    return "\n".join(str(pydicom.dcmread(p)) + str(p) for p in sorted(folder.rglob("*.dcm")))


def test_copies_carry_no_name_id_birth_date_address_or_private_tag(tmp_path):
    originals = _archive(tmp_path / "in")
    summary = deidentify_tree(tmp_path / "in", tmp_path / "out", salt="s")
    assert summary.written == 2 and summary.skipped["not a DICOM file"] == 1
    text = _all_text(tmp_path / "out")
    for value in ("Doe", "Jane", "DOE_JANE", "8675309", "424242", "19611103", "Elm Street", "House", "1.2.3.9",
                  "ACME"):
        assert value not in text, f"{value!r} survived de-identification"
    copy = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    assert copy.PatientIdentityRemoved == "YES" and copy.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert copy.BodyPartExamined == "CHEST" and copy.ViewPosition == "PA"  # what search needs is kept
    # and the pixels are untouched
    copies = sorted(read(p).pixels.tobytes() for p in (tmp_path / "out").rglob("*.dcm"))
    assert copies == sorted(read(p).pixels.tobytes() for p in originals)


def test_the_same_salt_gives_the_same_pseudonyms_and_keeps_the_study_together(tmp_path):
    _archive(tmp_path / "in")
    deidentify_tree(tmp_path / "in", tmp_path / "a", salt="site-secret")
    deidentify_tree(tmp_path / "in", tmp_path / "b", salt="site-secret")
    deidentify_tree(tmp_path / "in", tmp_path / "c", salt="other")
    ids = {name: {(ds.PatientID, ds.StudyInstanceUID) for ds in map(pydicom.dcmread, (tmp_path / name).rglob("*.dcm"))}
           for name in "abc"}
    assert len(ids["a"]) == 1  # both images: one patient, one study
    assert ids["a"] == ids["b"] != ids["c"]


@needs_ocr
def test_burned_in_annotation_is_refused_unless_allowed(tmp_path):
    _archive(tmp_path / "in", n=1, BurnedInAnnotation="YES")
    assert deidentify_tree(tmp_path / "in", tmp_path / "out").written == 0
    assert deidentify_tree(tmp_path / "in", tmp_path / "out", allow_burned_in=True).written == 1


def _ct_with_table_planted():
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    planted = plant_table(ds)
    for keyword in ("StudyDescription", "ReasonForTheRequestedProcedure", "MedicalAlerts", "PatientState",
                    "VisitComments", "AdditionalPatientHistory", "ImageComments"):
        setattr(ds, keyword, FREE_TEXT)
    item = Dataset()  # identity one level down, as in a request's sequence
    item.PatientName, item.AccessionNumber, item.RequestedProcedureDescription = "Quixnest^Zelda", "ACC-5512", FREE_TEXT
    ds.RequestAttributesSequence = pydicom.Sequence([item])
    ds.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", "Quixprivate")
    return ds, planted


@pytest.mark.parametrize("options", COMBINATIONS, ids=lambda o: "+".join(o) or "basic")
def test_every_attribute_of_table_e1_1_leaves_no_identifying_value_under_each_option(options, tmp_path):
    ds, planted = _ct_with_table_planted()
    assert len(planted) > 300  # the whole table, not a hand-picked list
    profile = Profile(options)
    cleaned = [tag for tag, (vr, _) in planted.items() if profile.action(tag) == "C" and vr in TEXT_VRS | {"SH"}]
    for tag in cleaned:  # what "clean" is for: descriptions with identity inside them
        ds[tag].value = "Dr. Quixbottom" if ds[tag].VR == "SH" else FREE_TEXT
    Deidentifier("salt", options)(ds)
    ds.save_as(tmp_path / "out.dcm", enforce_file_format=True)
    written = pydicom.dcmread(tmp_path / "out.dcm")
    text = str(written) + repr([elem.value for elem in written.iterall()])
    for tag, (vr, token) in planted.items():
        action = profile.action(tag)
        kept = action == "K" or (action == "C" and vr == "TM")
        if tag in cleaned:
            assert not any(t in str(written[tag].value) for t in FREE_TEXT_TOKENS), written[tag]
        elif kept:
            assert str(written[tag].value) == str(ds[tag].value), f"{written[tag].keyword} should be kept ({action})"
        elif vr in ("DA", "DT", "AS"):  # values that repeat across attributes: checked on the element itself
            assert tag not in written or token not in str(written[tag].value), f"{written[tag].keyword} kept {token}"
        else:
            assert token not in text, f"{pydicom.datadict.keyword_for_tag(tag)} ({action}) left {token!r}"
    for token in (*FREE_TEXT_TOKENS, "Quixnest", "ACC-5512", "Quixprivate", "ACME"):
        assert token not in text, f"{token!r} survived"
    assert [item.CodeValue for item in written.DeidentificationMethodCodeSequence] == [c for c, _ in profile.codes()]
    assert written.PatientIdentityRemoved == "YES"


def test_the_attributes_a_privacy_officer_found_kept_are_gone_and_options_keep_only_what_they_name(tmp_path):
    ds, _ = _ct_with_table_planted()
    ds.PatientAge, ds.PatientSex, ds.PatientWeight, ds.PatientSize = "085Y", "F", "61", "1.62"
    ds.DeviceSerialNumber, ds.ClinicalTrialSubjectID, ds.StationName = "SN-99881", "SUBJ-5521", "XR-ROOM-3"
    keywords = ("ReasonForTheRequestedProcedure", "MedicalAlerts", "PatientState", "VisitComments",
                "DeviceSerialNumber", "ClinicalTrialSubjectID", "PatientAge", "PatientWeight", "PatientSize",
                "PatientSex", "StationName", "StudyDescription")
    before = {keyword: str(ds.get(keyword)) for keyword in keywords}
    basic = Deidentifier("s")(ds)
    for keyword in keywords:  # removed, emptied or a dummy: never the value it had
        assert str(basic.get(keyword)) != before[keyword], f"{keyword} kept by the basic profile"
        assert str(basic.get(keyword) or "") in ("", "REMOVED", "0"), f"{keyword}: {basic.get(keyword)!r}"
    assert basic.LongitudinalTemporalInformationModified == "REMOVED"

    ds, _ = _ct_with_table_planted()
    ds.PatientAge, ds.PatientSex, ds.DeviceSerialNumber, ds.StudyDate = "085Y", "F", "SN-99881", "20240105"
    kept = Deidentifier("s", ["patient-characteristics", "device-identity", "clean-descriptors",
                              "modified-dates"])(ds)
    assert (kept.PatientAge, kept.PatientSex, kept.DeviceSerialNumber) == ("085Y", "F", "SN-99881")
    assert kept.StudyDate != "20240105" and len(kept.StudyDate) == 8  # shifted, not removed
    assert kept.LongitudinalTemporalInformationModified == "MODIFIED"
    cleaned = str(kept.ReasonForTheRequestedProcedure)
    assert cleaned.startswith("fall at") and not any(token in cleaned for token in FREE_TEXT_TOKENS)
    assert {"113105", "113107", "113108", "113109"} <= {c.CodeValue for c in kept.DeidentificationMethodCodeSequence}


def test_dates_move_together_so_intervals_survive_the_modified_dates_option():
    first, second = Dataset(), Dataset()
    first.StudyDate, second.StudyDate = "20240105", "20240301"
    deid = Deidentifier("site", ["modified-dates"])
    a, b = deid(first), deid(second)
    import datetime as dt
    day = lambda s: dt.datetime.strptime(s, "%Y%m%d")  # noqa: E731
    assert day(b.StudyDate) - day(a.StudyDate) == dt.timedelta(days=56)
    assert a.StudyDate != "20240105"


def test_safe_private_elements_are_kept_and_every_other_private_element_goes():
    ds = Dataset()
    ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True).add_new(0x10, "OB", b"csa!")
    ds.private_block(0x0011, "ACME", create=True).add_new(0x01, "LO", "Jane Doe private")
    out = Deidentifier("s", safe_private=[("SIEMENS CSA HEADER", 0x10)])(ds)
    private = [elem for elem in out if elem.tag.is_private]
    assert [elem.value for elem in private if elem.VR == "OB"] == [b"csa!"]
    assert "Jane Doe private" not in str(out) and "ACME" not in str(out)


def _stamped(rng, text_dark: str, text_bright: str):
    """A hand radiograph with text in white over the dark background and in black over bright anatomy."""
    from PIL import Image, ImageDraw, ImageFont
    pixels = render(rng, "HAND", "PA", size=(512, 512)).pixels
    image = np.asarray(pixels, np.float32)
    grey = ((image - image.min()) / (image.max() - image.min()) * 255).astype(np.uint8)
    canvas = Image.fromarray(grey)
    draw, font = ImageDraw.Draw(canvas), ImageFont.load_default(size=14)
    draw.text((10, 10), text_dark, fill=255, font=font)
    windows = [(grey[y:y + 16, x:x + 120].mean(), y, x) for y in range(0, 480, 8) for x in range(0, 380, 8)]
    brightness, y, x = max(windows)
    draw.text((x, y), text_bright, fill=0, font=font)
    return np.asarray(canvas), brightness, (y, x)


@needs_ocr
def test_text_burned_over_dark_and_bright_regions_is_found_and_masked_with_clean_pixels(tmp_path):
    stamped, brightness, (y, x) = _stamped(np.random.default_rng(3), "DOE JANE 1941", "ACC 88410277")
    assert brightness > 150  # the second stamp really lies over bright anatomy
    write_dicom(stamped / 255.0, tmp_path / "in" / "stamped.dcm", IDENTITY | {"SeriesInstanceUID": "1.2.3.9.6"})
    clean = render(np.random.default_rng(4), "HAND", "PA", size=(512, 512)).pixels
    write_dicom(clean, tmp_path / "in" / "clean.dcm", IDENTITY | {"SeriesInstanceUID": "1.2.3.9.7"})

    refused = deidentify_tree(tmp_path / "in", tmp_path / "refused", salt="s")
    assert refused.written == 1  # the clean image; the stamped one is skipped and says why
    assert any("burned-in text" in reason and "OCR read" in reason for reason in refused.skipped)

    masked = deidentify_tree(tmp_path / "in", tmp_path / "masked", salt="s", options=["clean-pixels"])
    assert masked.written == 2 and masked.masked == 1
    copies = [pydicom.dcmread(p) for p in (tmp_path / "masked").rglob("*.dcm")]
    stamped_copy = next(c for c in copies if c.BurnedInAnnotation == "NO")
    assert "113101" in {c.CodeValue for c in stamped_copy.DeidentificationMethodCodeSequence}
    pixels = stamped_copy.pixel_array
    assert burned_in.find_text(pixels) == []  # nothing left to read
    changed = pixels != pydicom.dcmread(tmp_path / "in" / "stamped.dcm").pixel_array
    assert changed[:30, :140].any() and changed[y:y + 16, x:x + 120].any()  # both stamps went
    assert changed.mean() < 0.05  # and the anatomy stayed


@needs_ocr
def test_plain_radiographs_are_not_mistaken_for_burned_in_text():
    rng = np.random.default_rng(11)
    for part, view in [("CHEST", "PA"), ("CHEST", "LAT"), ("HAND", "PA"), ("KNEE", "AP"), ("PELVIS", "AP")]:
        assert burned_in.find_text(render(rng, part, view, size=(512, 512)).pixels) == [], part


def test_cli_prints_the_summary_and_refuses_writing_inside_the_source(tmp_path):
    _archive(tmp_path / "in")
    result = CliRunner().invoke(main, ["deid", str(tmp_path / "in"), str(tmp_path / "out"), "--salt", "s"])
    assert result.exit_code == 0 and "wrote 2 de-identified DICOM files" in result.output
    result = CliRunner().invoke(main, ["deid", str(tmp_path / "in"), str(tmp_path / "in" / "out")])
    assert result.exit_code == 1 and "outside the source archive" in result.output


def test_a_rerun_with_the_same_salt_resumes_and_copies_are_named_by_their_own_new_uids(tmp_path):
    _archive(tmp_path / "in")
    first = deidentify_tree(tmp_path / "in", tmp_path / "out", salt="s", allow_burned_in=True, progress=False)
    again = deidentify_tree(tmp_path / "in", tmp_path / "out", salt="s", allow_burned_in=True, progress=False)
    assert first.written == 2 and again.written == 0
    assert again.skipped["already written by an earlier run with the same salt"] == 2
    for path in (tmp_path / "out").rglob("*.dcm"):
        copy = pydicom.dcmread(path)
        assert (path.parent.parent.name, path.parent.name, path.stem) == (
            copy.StudyInstanceUID, copy.SeriesInstanceUID, copy.SOPInstanceUID)
