"""Starting from local pretrained towers (DINOv2, ViT, ConvNeXt, BERT), frozen or not; never downloads."""

from __future__ import annotations

import json
from dataclasses import replace

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
from radsearch.models import RadsearchModel, train_wordpiece
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
    # the DINOv2 tower sees what it was trained on: 3 channels, its own normalisation
    assert (model.profile.channels, round(model.profile.mean, 3)) == (3, 0.449)
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
