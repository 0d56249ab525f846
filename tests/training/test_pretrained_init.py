"""Starting from local pretrained towers (DINOv2 with or without registers, ViT, ConvNeXt, Swin, BEiT, the
image side of CLIP and SigLIP, BERT), frozen or not, fed as they were published; never downloads."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertModel,
    ConvNextConfig,
    ConvNextModel,
    Dinov2Config,
    Dinov2Model,
    ViTConfig,
    ViTModel,
)

from radsearch.datasets import read_manifest
from radsearch.errors import ModelDirError
from radsearch.imaging import Radiograph, preprocess
from radsearch.models import RadsearchModel, load_tower, train_wordpiece
from radsearch.models.standins import write_standin
from radsearch.training import TrainSettings, train

QUICK = TrainSettings(epochs=1, batch_size=8, splits=("train", "val", "test"))


def _save(model, directory, preprocessor=None):
    model.save_pretrained(directory)
    if preprocessor:
        (directory / "preprocessor_config.json").write_text(json.dumps(preprocessor))
    return directory


@pytest.fixture(scope="module")
def towers(tmp_path_factory, tiny_archive):
    """Tiny checkpoints in the layouts users bring: DINOv2 (RGB, ImageNet stats), ViT, ConvNeXt, BERT."""
    root = tmp_path_factory.mktemp("towers")
    torch.manual_seed(0)
    small = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    dino = _save(Dinov2Model(Dinov2Config(**small, patch_size=16, image_size=64)), root / "dinov2",
                 {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]})
    vit = _save(ViTModel(ViTConfig(**small, patch_size=16, image_size=64, num_channels=1)), root / "vit")
    convnext = _save(ConvNextModel(ConvNextConfig(hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1])),
                     root / "convnext")
    reports = [r.report for r in read_manifest(tiny_archive / "manifest.csv") if r.report]
    tokenizer = train_wordpiece(reports, 300)
    bert = _save(BertModel(BertConfig(vocab_size=len(tokenizer), **small)), root / "bert")
    tokenizer.save_pretrained(bert)
    return {"dinov2": dino, "vit": vit, "convnext": convnext, "bert": bert}


def _weights(module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_projection_only_alignment_keeps_pretrained_towers_exactly(towers, tiny_archive, tmp_path):
    settings = replace(QUICK, init_image=str(towers["dinov2"]), init_text=str(towers["bert"]),
                       freeze=("image", "text"))
    model = RadsearchModel.from_pretrained(train(tiny_archive / "manifest.csv", tmp_path / "m", settings,
                                                 progress=False))
    for tower, name in ((model.tower("image"), "dinov2"), (model.tower("text"), "bert")):
        original = (Dinov2Model if name == "dinov2" else BertModel).from_pretrained(towers[name])
        assert all(torch.equal(v, original.state_dict()[k]) for k, v in tower.state_dict().items()), name
    # the DINOv2 tower sees what it was trained on: 3 channels at its own size, ImageNet statistics per channel
    assert (model.profile.size, model.profile.channels, model.profile.mean) == (64, 3, (0.485, 0.456, 0.406))
    assert model.tokenizer.get_vocab() == AutoTokenizer.from_pretrained(towers["bert"]).get_vocab()
    assert model.info["init_image"].endswith("dinov2") and model.encode_text(["effusion"]).shape == (1, 128)


def test_a_pretrained_tower_that_is_not_frozen_learns(towers, tiny_archive, tmp_path):
    settings = replace(QUICK, init_image=str(towers["convnext"]), lr=1e-2)
    model = RadsearchModel.from_pretrained(train(tiny_archive / "manifest.csv", tmp_path / "m", settings,
                                                 progress=False))
    original = ConvNextModel.from_pretrained(towers["convnext"]).state_dict()
    changed = [k for k, v in model.tower("image").state_dict().items() if not torch.equal(v, original[k])]
    assert changed  # it started from the checkpoint (same shapes) and moved
    assert model.embed_dim == 128 and model.profile.channels == 3


def test_vit_checkpoint_sets_the_input_size(towers, tiny_archive, tmp_path):
    settings = replace(QUICK, init_image=str(towers["vit"]), freeze=("image",))
    model = RadsearchModel.from_pretrained(train(tiny_archive / "manifest.csv", tmp_path / "m", settings,
                                                 progress=False))
    assert (model.profile.size, model.profile.channels) == (64, 1)  # ViT position embeddings fix the size


def test_wrong_or_missing_checkpoints_are_refused_with_the_fix(towers, tiny_archive, tmp_path):
    with pytest.raises(ModelDirError, match="not a BERT-family text tower"):
        train(tiny_archive / "manifest.csv", tmp_path / "a", replace(QUICK, init_text=str(towers["vit"])))
    with pytest.raises(ModelDirError, match="config.json"):
        train(tiny_archive / "manifest.csv", tmp_path / "b", replace(QUICK, init_image=str(tmp_path)))


def test_projection_only_runs_the_frozen_towers_once_and_still_learns(towers, tiny_archive, tmp_path, monkeypatch):
    from radsearch.training import loop as loop_module
    built = []
    real_build = loop_module.TowerCache.build.__func__

    def counting_build(cls, *args, **kwargs):
        built.append(1)
        return real_build(cls, *args, **kwargs)

    monkeypatch.setattr(loop_module.TowerCache, "build", classmethod(counting_build))
    settings = replace(QUICK, init_image=str(towers["dinov2"]), init_text=str(towers["bert"]),
                       freeze=("image", "text"), epochs=8, lr=5e-3, warmup_steps=1)
    out = train(tiny_archive / "manifest.csv", tmp_path / "m", settings, progress=False)
    losses = [json.loads(line)["loss"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert built == [1] and losses[-1] < losses[0]


def test_a_published_tower_is_fed_its_input_size_and_per_channel_statistics(tmp_path):
    from radsearch.models import load_preset, pretrained_profile
    directory = write_standin("dinov2", tmp_path / "dinov2", image_size=48)
    profile = pretrained_profile(directory, load_preset("tiny"))
    assert profile.size == 48 and profile.fit == "pad"  # its crop size, not the preset's 128; nothing cropped
    gray = preprocess(Radiograph(np.full((20, 20), 0.5, np.float32)), profile)
    centre = gray[:, 24, 24]  # a pixel of 0.5 under ImageNet's mean and std, channel by channel
    np.testing.assert_allclose(centre, [(0.5 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0.5 - 0.406) / 0.225],
                               atol=2e-2)
    assert np.round(centre, 3).tolist() != [round(float(centre.mean()), 3)] * 3


@pytest.mark.parametrize("kind", ["dinov2-registers", "swin", "beit", "clip", "siglip"])
def test_more_published_image_towers_start_a_training_and_stay_as_published_when_frozen(kind, tiny_archive,
                                                                                        tmp_path):
    directory = write_standin(kind, tmp_path / kind)
    settings = replace(QUICK, init_image=str(directory), freeze=("image",))
    model = RadsearchModel.from_pretrained(train(tiny_archive / "manifest.csv", tmp_path / "m", settings,
                                                 progress=False))
    original = load_tower(directory, "image").state_dict()
    assert all(torch.equal(v, original[k]) for k, v in model.tower("image").state_dict().items())
    assert model.profile.size == 32 and model.profile.channels == 3
    records = read_manifest(tiny_archive / "manifest.csv")[:2]
    from radsearch.imaging import read
    from radsearch.models import embed_radiographs
    vectors = embed_radiographs(model, [read(r.path) for r in records])
    assert vectors.shape == (2, model.embed_dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_a_library_built_after_projection_only_training_answers_text_searches(towers, tiny_archive, tmp_path):
    from radsearch import index, open_library
    settings = replace(QUICK, init_image=str(towers["dinov2"]), init_text=str(towers["bert"]),
                       freeze=("image", "text"))
    model = train(tiny_archive / "manifest.csv", tmp_path / "m", settings, progress=False)
    index(tiny_archive, tmp_path / "lib", model, progress=False)
    hits = open_library(tmp_path / "lib").search.text("left pleural effusion", k=3)
    assert len(hits) == 3 and all(h.score == h.score for h in hits)  # answered, not refused
    assert open_library(tmp_path / "lib").search.reports("pleural effusion", k=2)
