"""`--recipe auto` reads the archive's shape; labelled archives without reports learn label sentences and
label-contrastive neighbours; an unlabelled image is normal only for what its own source annotates."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from radsearch import index, open_library
from radsearch.datasets import ManifestRecord, read_manifest, source_of, write_manifest
from radsearch.datasets.label_text import label_keys, label_sentence, label_vocabularies
from radsearch.models import RadsearchModel
from radsearch.training import TrainSettings, train
from radsearch.training.loop import resolve_recipe
from radsearch.training.loss import LabelMemory, label_contrastive_loss
from radsearch.training.recipes import choose_recipe

QUICK = TrainSettings(epochs=1, batch_size=8, splits=("train", "val", "test"))


def _rows(n_reported: int, n_labelled: int, n: int = 10) -> list[ManifestRecord]:
    return [ManifestRecord(path=f"/x/{i}.png", patient_id=f"site-{i}", study_id=f"site-{i}",
                           body_part="CHEST" if i % 2 else "HAND", report="IMPRESSION: Normal." if i < n_reported
                           else "", labels=["fracture"] if i < n_labelled else []) for i in range(n)]


def test_auto_trains_on_reports_when_most_images_have_one():
    choice = choose_recipe(_rows(n_reported=8, n_labelled=0))
    assert choice.recipe == "contrastive" and not choice.label_text
    assert "80% with a report" in choice.reason


def test_auto_learns_labels_and_label_sentences_when_reports_are_few():
    choice = choose_recipe(_rows(n_reported=1, n_labelled=4))
    # "labels" pulls images that share a finding together: ahead on real radiographs over three seeds
    assert set(choice.recipe.split("+")) == {"supervised", "anatomy", "contrastive", "labels"}
    assert choice.label_text
    assert "labels" in choice.reason and choice.preset == "tiny-grid4"  # the grid keeps where things lie


def test_auto_trains_labelled_archives_longer_unless_epochs_are_given():
    labelled, reported = _rows(n_reported=1, n_labelled=4), _rows(n_reported=8, n_labelled=0)
    longer = resolve_recipe(TrainSettings(), labelled)[0].epochs
    assert longer > resolve_recipe(TrainSettings(), reported)[0].epochs  # labels alone learn slower than reports
    assert resolve_recipe(TrainSettings(recipe="supervised"), labelled)[0].epochs < longer  # a named recipe: 60
    assert resolve_recipe(TrainSettings(epochs=7), labelled)[0].epochs == 7


def test_auto_gives_the_labels_objective_a_memory_of_earlier_batches_unless_told_otherwise():
    labelled, reported = _rows(n_reported=1, n_labelled=4), _rows(n_reported=8, n_labelled=0)
    remembered = resolve_recipe(TrainSettings(), labelled)[0].label_memory
    assert remembered >= TrainSettings().batch_size  # at least a batch more positives and negatives per image
    assert resolve_recipe(TrainSettings(), reported)[0].label_memory == 0  # no labels objective to remember for
    assert resolve_recipe(TrainSettings(recipe="supervised+labels"), labelled)[0].label_memory == 0  # named: off
    assert resolve_recipe(TrainSettings(label_memory=0), labelled)[0].label_memory == 0
    assert resolve_recipe(TrainSettings(recipe="labels", label_memory=32), labelled)[0].label_memory == 32


def test_auto_precision_is_decided_before_training_so_the_card_can_say_which():
    # a CPU trains in fp32 whatever its flags: bf16 steps were slower than fp32 on one CPU with AVX-512 BF16
    assert resolve_recipe(TrainSettings(precision="auto", device="cpu"), _rows(8, 0))[0].precision == "fp32"
    assert resolve_recipe(TrainSettings(precision="bf16", device="cpu"), _rows(8, 0))[0].precision == "bf16"
    assert resolve_recipe(TrainSettings(precision="fp32", device="cpu"), _rows(8, 0))[0].precision == "fp32"


def test_auto_falls_back_to_self_supervision_without_reports_or_labels():
    rows = [replace(r, study_id=f"{n}", patient_id=f"p{n}") for n, r in enumerate(_rows(0, 0))]
    choice = choose_recipe(rows)
    assert choice.recipe.split("+")[0] == "ssl" and not choice.label_text


def test_the_source_of_a_row_comes_from_a_column_an_importer_prefix_or_shared_id_prefixes():
    assert source_of(ManifestRecord(path="a", source="site-a", study_id="nih:1")) == "site-a"
    assert source_of(ManifestRecord(path="a", study_id="chexpert:patient1/study1")) == "chexpert"
    assert source_of(ManifestRecord(path="a", study_id="nih-0001", patient_id="nih-0001")) == "nih"
    assert source_of(ManifestRecord(path="a", study_id="1.2.840.1", patient_id="12345")) == ""


def test_an_unlabelled_image_is_described_as_normal_only_for_its_own_sources_findings():
    rows = [ManifestRecord(path="a", study_id="frac:1", body_part="HAND", labels=["fracture"]),
            ManifestRecord(path="b", study_id="frac:2", body_part="HAND"),
            ManifestRecord(path="c", study_id="chest:3", body_part="CHEST", labels=["effusion"]),
            ManifestRecord(path="d", study_id="chest:4", body_part="CHEST"),
            ManifestRecord(path="e", study_id="other:5", body_part="KNEE")]
    vocabularies = label_vocabularies(rows)
    assert label_sentence(rows[0], vocabularies) == "Hand radiograph: fracture."
    assert label_sentence(rows[1], vocabularies) == "Hand radiograph: normal, no fracture."
    assert label_sentence(rows[3], vocabularies) == "Chest radiograph: normal, no effusion."
    assert label_sentence(rows[4], vocabularies) == ""  # its source labels nothing: nothing is known of it
    keys = [label_keys(r, vocabularies) for r in rows]
    assert keys[1] == {"normal (frac)"} and keys[3] == {"normal (chest)"} and keys[4] == frozenset()


def test_label_contrastive_loss_is_lower_when_images_sharing_a_label_are_neighbours():
    sets = torch.tensor([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=torch.float32)
    together = torch.nn.functional.normalize(torch.tensor([[1, 0.1], [1, -0.1], [0.1, 1], [-0.1, 1]]), dim=1)
    apart = together[[0, 2, 1, 3]]  # same vectors, labels now on the wrong neighbours
    assert label_contrastive_loss(together, sets) < label_contrastive_loss(apart, sets)
    alone = torch.tensor([[1, 0], [0, 1]], dtype=torch.float32)
    assert label_contrastive_loss(together[:2], alone).item() == 0.0  # no positive in the batch: no signal


def test_the_label_memory_gives_an_image_positives_from_earlier_batches():
    batch = torch.nn.functional.normalize(torch.tensor([[1, 0.2], [0.2, 1]]), dim=1)
    alone = torch.tensor([[1, 0], [0, 1]], dtype=torch.float32)  # neither shares a label within the batch
    assert label_contrastive_loss(batch, alone).item() == 0.0
    near, far = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    close_by = label_contrastive_loss(batch, alone, memory=torch.cat([near, far]), memory_sets=alone)
    swapped = label_contrastive_loss(batch, alone, memory=torch.cat([far, near]), memory_sets=alone)
    assert 0 < close_by < swapped  # earlier images sharing a label are pulled close, the others pushed away


def test_the_label_memory_keeps_the_most_recent_embeddings_first_in_first_out():
    memory = LabelMemory(size=3)
    for n in range(4):
        memory.add(torch.full((2, 2), float(n), requires_grad=True), torch.eye(2))
    assert memory.vectors[:, 0].tolist() == [2.0, 3.0, 3.0] and memory.sets.shape == (3, 2)
    assert not memory.vectors.requires_grad  # earlier batches are fixed keys, never trained through


@pytest.fixture()
def labelled_unreported(tiny_archive, tmp_path):
    records = [replace(r, report="") for r in read_manifest(tiny_archive / "manifest.csv")]
    return write_manifest(records, tmp_path / "labels-only.csv")


def test_auto_on_a_labelled_archive_without_reports_gives_it_working_text_search(labelled_unreported, tmp_path):
    out = train(labelled_unreported, tmp_path / "model", QUICK, progress=False)
    model = RadsearchModel.from_pretrained(out)
    assert set(model.info["recipe"].split("+")) >= {"supervised", "contrastive"}
    assert model.info["preset"] == "tiny-grid4"
    assert model.info["label_text"] is True and "text" in model.info["trained_towers"]
    assert model.info["label_memory"] > 0  # the labels objective also met the batches before
    index(labelled_unreported, tmp_path / "lib", out, progress=False)
    hits = open_library(tmp_path / "lib").search.text("Chest radiograph: pleural effusion.", k=3)
    assert len(hits) == 3  # not refused as "trained without reports"


def test_a_named_recipe_keeps_label_sentences_off_unless_asked(labelled_unreported, tmp_path):
    with pytest.raises(ValueError, match="needs reports"):
        train(labelled_unreported, tmp_path / "m", replace(QUICK, recipe="contrastive+supervised"), progress=False)
    out = train(labelled_unreported, tmp_path / "m2", replace(QUICK, recipe="labels+anatomy"), progress=False)
    assert RadsearchModel.from_pretrained(out).info["trained_towers"] == ["image"]
