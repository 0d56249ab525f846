"""Importers: each public dataset's exact layout, written here in miniature, becomes a manifest."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from radsearch.cli import main
from radsearch.datasets import read_manifest
from radsearch.datasets.importers import IMPORTERS, import_dataset
from radsearch.datasets.synthetic import render, write_dicom
from radsearch.errors import ManifestError


def _image(path: Path, seed: int = 0) -> Path:
    """A small real image file (PNG or JPEG by suffix) where the dataset keeps one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = render(np.random.default_rng(seed), "CHEST", "PA", size=(64, 64)).pixels
    Image.fromarray((pixels * 255).astype(np.uint8)).save(path)
    return path


def _csv(path: Path, header: list[str] | None, rows: list[list], gz: bool = False) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = buffer.getvalue().encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _by_name(manifest: Path) -> dict[str, object]:
    return {Path(r.path).name: r for r in read_manifest(manifest)}


def test_mimic_cxr_jpg_with_reports_labels_and_splits(tmp_path):
    root = tmp_path / "mimic-cxr-jpg" / "2.1.0"
    study = root / "files" / "p10" / "p10000032" / "s50414267"
    _image(study / "02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg")
    _image(study / "174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962.jpg", seed=1)
    _csv(root / "mimic-cxr-2.0.0-metadata.csv.gz",
         ["dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition", "Rows", "Columns",
          "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning", "ViewCodeSequence_CodeMeaning",
          "PatientOrientationCodeSequence_CodeMeaning"],
         [["02aa804e-bde0afdd-112c0b34-7bc16630-4e384014", 10000032, 50414267, "CHEST (PA AND LAT)", "PA", 3056,
           2544, 21800506, 213014.531, "CHEST (PA AND LAT)", "postero-anterior", "Erect"],
          ["174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962", 10000032, 50414267, "CHEST (PA AND LAT)", "LATERAL", 2544,
           3056, 21800506, 213014.531, "CHEST (PA AND LAT)", "lateral", "Erect"],
          ["ffffffff-0000", 10000032, 59999999, "", "AP", 1, 1, 21800507, 0, "", "", ""]], gz=True)
    _csv(root / "mimic-cxr-2.0.0-split.csv.gz", ["dicom_id", "study_id", "subject_id", "split"],
         [["02aa804e-bde0afdd-112c0b34-7bc16630-4e384014", 50414267, 10000032, "train"],
          ["174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962", 50414267, 10000032, "train"]], gz=True)
    _csv(root / "mimic-cxr-2.0.0-chexpert.csv.gz",
         ["subject_id", "study_id", "Atelectasis", "Cardiomegaly", "Consolidation", "Edema",
          "Enlarged Cardiomediastinum", "Fracture", "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion",
          "Pleural Other", "Pneumonia", "Pneumothorax", "Support Devices"],
         [[10000032, 50414267, "", "1.0", "", "", "", "", "", "", "", "1.0", "", "-1.0", "0.0", ""]], gz=True)
    reports = tmp_path / "mimic-cxr-reports"
    (reports / "files" / "p10" / "p10000032").mkdir(parents=True)
    (reports / "files" / "p10" / "p10000032" / "s50414267.txt").write_text(
        "                                 FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n\n FINDINGS:\n"
        " Moderate left pleural effusion. Heart size is enlarged.\n\n IMPRESSION:\n Left effusion, cardiomegaly.\n")
    summary = import_dataset("mimic-cxr-jpg", root, tmp_path / "manifest.csv", reports=reports)
    assert (summary.written, summary.missing) == (2, 1)  # the third image is listed but not downloaded
    records = _by_name(tmp_path / "manifest.csv")
    pa = records["02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg"]
    lateral = records["174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962.jpg"]
    assert pa.labels == ["cardiomegaly", "pleural_effusion"]  # uncertain pneumonia (-1) is not a label
    assert (pa.view, lateral.view, pa.split, pa.study_date) == ("PA", "LAT", "train", "2180-05-06")
    assert pa.study_id == lateral.study_id == "mimic-cxr:50414267" and pa.patient_id == "mimic-cxr:10000032"
    assert "IMPRESSION:" in pa.report and "Left effusion" in lateral.report


def test_chexpert_small_with_demographics_and_views(tmp_path):
    root = tmp_path / "CheXpert-v1.0-small"
    _image(root / "train" / "patient00001" / "study1" / "view1_frontal.jpg")
    _image(root / "train" / "patient00001" / "study1" / "view2_lateral.jpg", 1)
    _image(root / "valid" / "patient64541" / "study1" / "view1_frontal.jpg", 2)
    header = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding", "Enlarged Cardiomediastinum",
              "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis",
              "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices"]
    _csv(root / "train.csv", header, [
        ["CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg", "Female", 68, "Frontal", "AP",
         "", "", "", "", "", "", "", "", "", "1.0", "-1.0", "", "", "1.0"],
        ["CheXpert-v1.0-small/train/patient00001/study1/view2_lateral.jpg", "Female", 68, "Lateral", "",
         "", "", "", "", "", "", "", "", "", "1.0", "-1.0", "", "", "1.0"]])
    _csv(root / "valid.csv", header, [
        ["CheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg", "Male", 73, "Frontal", "PA",
         "1.0", "0.0", "0.0", "0.0", "0.0", "0.0", "0.0", "0.0", "0.0", "0.0", "0.0", "0.0", "0.0", "0.0"]])
    assert import_dataset("chexpert", root, tmp_path / "m.csv").written == 3
    rows = sorted(read_manifest(tmp_path / "m.csv"), key=lambda r: r.path)
    frontal, lateral, valid = rows
    assert frontal.labels == ["pneumothorax", "support_devices"] and valid.labels == []
    assert (frontal.view, lateral.view, valid.view) == ("AP", "LAT", "PA")
    assert (frontal.sex, frontal.age, valid.sex, frontal.split, valid.split) == ("F", "68", "M", "train", "val")
    assert frontal.study_id == lateral.study_id == "chexpert:patient00001/study1"


def test_nih_chestxray14_labels_follow_ups_and_split_lists(tmp_path):
    root = tmp_path / "nih"
    _image(root / "images_001" / "images" / "00000001_000.png")
    _image(root / "images_001" / "images" / "00000001_001.png", 1)
    _image(root / "images_002" / "images" / "00000003_000.png", 2)
    _csv(root / "Data_Entry_2017_v2020.csv",
         ["Image Index", "Finding Labels", "Follow-up #", "Patient ID", "Patient Age", "Patient Gender",
          "View Position", "OriginalImage[Width", "Height]", "OriginalImagePixelSpacing[x", "y]"],
         [["00000001_000.png", "Cardiomegaly", 0, 1, 57, "M", "PA", 2682, 2749, 0.143, 0.143],
          ["00000001_001.png", "Cardiomegaly|Effusion", 1, 1, 58, "M", "PA", 2894, 2729, 0.143, 0.143],
          ["00000003_000.png", "No Finding", 0, 3, 81, "F", "AP", 2048, 2500, 0.168, 0.168]])
    (root / "train_val_list.txt").write_text("00000001_000.png\n00000001_001.png\n")
    (root / "test_list.txt").write_text("00000003_000.png\n")
    import_dataset("nih-cxr14", root, tmp_path / "m.csv")
    records = _by_name(tmp_path / "m.csv")
    assert records["00000001_001.png"].labels == ["cardiomegaly", "pleural_effusion"]
    assert records["00000003_000.png"].labels == [] and records["00000003_000.png"].split == "test"
    assert records["00000001_000.png"].study_id != records["00000001_001.png"].study_id  # follow-ups are studies
    assert records["00000001_000.png"].patient_id == records["00000001_001.png"].patient_id == "nih-cxr14:1"
    assert (records["00000003_000.png"].sex, records["00000003_000.png"].age) == ("F", "81")


def test_padchest_spanish_reports_label_lists_and_age_from_birth_year(tmp_path):
    root = tmp_path / "padchest"
    name = "216840111366964013076187734852011291090445391_00-196-188.png"
    _image(root / "0" / name)
    _csv(root / "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv",
         ["ImageID", "ImageDir", "StudyDate_DICOM", "StudyID", "PatientID", "PatientBirth", "PatientSex_DICOM",
          "ViewPosition_DICOM", "Projection", "MethodProjection", "Pediatric", "Modality_DICOM", "Manufacturer_DICOM",
          "Report", "MethodLabel", "Labels", "Localizations", "LabelsLocalizationsBySentence", "labelCUIS",
          "LocalizationsCUIS"],
         [[name, 0, 20140915, "20536686640136348236148679891455886468", "839860488694292331637988235681460987",
           1930.0, "F", "POSTEROANTERIOR", "PA", "Manual review of DICOM fields", "No", "CR", "PhilipsMedicalSystems",
           " derrame pleural izquierdo . cardiomegalia .", "Physician",
           "['pleural effusion', 'cardiomegaly', 'normal']", "['loc left']", "[]", "[]", "[]"]])
    import_dataset("padchest", root, tmp_path / "m.csv")
    record = read_manifest(tmp_path / "m.csv")[0]
    assert record.labels == ["cardiomegaly", "pleural_effusion"] and record.report.startswith("derrame pleural")
    assert (record.age, record.sex, record.view, record.study_date) == ("84", "F", "PA", "2014-09-15")


def test_vindr_cxr_dicoms_with_majority_of_readers(tmp_path):
    root = tmp_path / "vindr-cxr" / "1.0.0"
    pixels = render(np.random.default_rng(0), "CHEST", "PA", size=(64, 64)).pixels
    write_dicom(pixels, root / "train" / "000434271f63a053c4128a0ba6352c7f.dicom", {"Modality": "DX"})
    write_dicom(pixels[::-1], root / "test" / "002a34c58c5b758217ed1f584ccbcfe9.dicom", {"Modality": "DX"})
    header = ["image_id", "rad_id", "Aortic enlargement", "Cardiomegaly", "Nodule/Mass", "Pleural effusion",
              "No finding"]
    _csv(root / "annotations" / "image_labels_train.csv", header, [
        ["000434271f63a053c4128a0ba6352c7f", "R2", 1, 1, 0, 0, 0],
        ["000434271f63a053c4128a0ba6352c7f", "R3", 0, 1, 1, 0, 0],
        ["000434271f63a053c4128a0ba6352c7f", "R6", 0, 1, 0, 0, 0]])
    _csv(root / "annotations" / "image_labels_test.csv", header, [
        ["002a34c58c5b758217ed1f584ccbcfe9", "R_consensus", 0, 0, 1, 1, 0]])
    import_dataset("vindr-cxr", root, tmp_path / "m.csv")
    records = {r.split: r for r in read_manifest(tmp_path / "m.csv")}
    assert records["train"].labels == ["cardiomegaly"]  # aortic enlargement and nodule: one reader in three
    assert records["test"].labels == ["nodule_mass", "pleural_effusion"]


def test_mura_abnormal_studies_and_body_parts(tmp_path):
    root = tmp_path / "MURA-v1.1"
    _image(root / "train" / "XR_SHOULDER" / "patient00001" / "study1_positive" / "image1.png")
    _image(root / "train" / "XR_SHOULDER" / "patient00001" / "study1_positive" / "image2.png", 1)
    _image(root / "valid" / "XR_WRIST" / "patient11185" / "study1_negative" / "image1.png", 2)
    _csv(root / "train_image_paths.csv", None, [["MURA-v1.1/train/XR_SHOULDER/patient00001/study1_positive/image1.png"],
                                                ["MURA-v1.1/train/XR_SHOULDER/patient00001/study1_positive/image2.png"]])
    _csv(root / "train_labeled_studies.csv", None, [["MURA-v1.1/train/XR_SHOULDER/patient00001/study1_positive/", 1]])
    _csv(root / "valid_image_paths.csv", None, [["MURA-v1.1/valid/XR_WRIST/patient11185/study1_negative/image1.png"]])
    _csv(root / "valid_labeled_studies.csv", None, [["MURA-v1.1/valid/XR_WRIST/patient11185/study1_negative/", 0]])
    assert import_dataset("mura", root, tmp_path / "m.csv").written == 3
    rows = sorted(read_manifest(tmp_path / "m.csv"), key=lambda r: r.path)
    assert [(r.body_part, r.labels, r.split) for r in rows] == [
        ("SHOULDER", ["abnormal"], "train"), ("SHOULDER", ["abnormal"], "train"), ("WRIST", [], "val")]
    assert rows[0].study_id == rows[1].study_id


OPENI_XML = """<?xml version="1.0" encoding="utf-8"?>
<eCitation>
  <meta type="rr"/>
  <uId id="CXR{n}"/>
  <pmcId id="{n}"/>
  <MedlineCitation Owner="Indiana University" Status="supplied by publisher">
    <Article PubModel="Electronic">
      <Abstract>
        <AbstractText Label="COMPARISON">None.</AbstractText>
        <AbstractText Label="INDICATION">XXXX-year-old with cough.</AbstractText>
        <AbstractText Label="FINDINGS">{findings}</AbstractText>
        <AbstractText Label="IMPRESSION">{impression}</AbstractText>
      </Abstract>
    </Article>
  </MedlineCitation>
  <MeSH>{mesh}</MeSH>
  <parentImage id="CXR{n}_IM-00{n}-1001">
    <figureId>F1</figureId><caption>Xray Chest PA and Lateral</caption>
  </parentImage>
  <parentImage id="CXR{n}_IM-00{n}-2001">
    <figureId>F2</figureId><caption>Xray Chest PA and Lateral</caption>
  </parentImage>
</eCitation>
"""


def _openi(root: Path) -> Path:
    cases = [(1, "The heart is normal in size. The lungs are clear.", "Normal chest.", "<major>normal</major>"),
             (2, "Large right pleural effusion.", "Right pleural effusion.",
              "<major>Pleural Effusion/right/large</major><minor>Opacity</minor>")]
    for n, findings, impression, mesh in cases:
        xml = root / "NLMCXR_reports" / "ecgen-radiology" / f"{n}.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(OPENI_XML.format(n=n, findings=findings, impression=impression, mesh=mesh))
        for view in (1, 2):
            _image(root / "NLMCXR_png" / f"CXR{n}_IM-00{n}-{view}001.png", n * 10 + view)
    return root


def test_openi_report_xml_sections_and_mesh_labels(tmp_path):
    root = _openi(tmp_path / "openi")
    assert import_dataset("openi", root, tmp_path / "m.csv").written == 4
    records = _by_name(tmp_path / "m.csv")
    sick = records["CXR2_IM-002-1001.png"]
    assert sick.labels == ["pleural_effusion"] and records["CXR1_IM-001-2001.png"].labels == []
    assert "FINDINGS: Large right pleural effusion." in sick.report and "IMPRESSION: Right" in sick.report
    assert sick.study_id == records["CXR2_IM-002-2001.png"].study_id == "openi:CXR2"


def test_an_imported_manifest_indexes_with_its_reports(tmp_path, tiny_model):
    from radsearch import index, open_library
    import_dataset("openi", _openi(tmp_path / "openi"), tmp_path / "m.csv")
    summary = index(tmp_path / "m.csv", tmp_path / "lib", tiny_model, progress=False)
    assert (summary.added, summary.reports_added) == (4, 2)
    hits = open_library(tmp_path / "lib").search.reports("right pleural effusion", k=2)
    assert {h.study_key for h in hits} == {"openi:CXR1", "openi:CXR2"} and all(len(h.image_ids) == 2 for h in hits)


def test_a_folder_in_another_layout_names_the_file_it_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="does not look like CheXpert: expected train.csv"):
        import_dataset("chexpert", tmp_path / "empty", tmp_path / "m.csv")
    with pytest.raises(ManifestError, match="known formats: chexpert"):
        import_dataset("chexpertt", tmp_path / "empty", tmp_path / "m.csv")


def test_manifest_outside_the_dataset_folder_keeps_absolute_paths(tmp_path):
    root = _openi(tmp_path / "data" / "openi")
    out = tmp_path / "elsewhere" / "m.csv"
    import_dataset("openi", root, out)
    assert all(Path(r.path).is_file() for r in read_manifest(out))
    assert str(root) in out.read_text()


def test_cli_import_offers_every_registered_format(tmp_path):
    result = CliRunner().invoke(main, ["import", "--help"])
    assert result.exit_code == 0 and "mimic-cxr-jpg|chexpert" in result.output
    choices = next(p for p in main.commands["import"].params if p.name == "dataset").type.choices
    assert sorted(choices) == sorted(IMPORTERS)
    root = _openi(tmp_path / "openi")
    result = CliRunner().invoke(main, ["import", "openi", str(root), "--out", str(tmp_path / "m.csv")])
    assert result.exit_code == 0 and "wrote 4 images" in result.output
