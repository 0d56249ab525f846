"""Model directories: Hugging Face layout in, unit vectors out, clear errors for wrong folders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from radsearch.errors import ModelDirError
from radsearch.models import RadsearchModel, available_presets, build_dual_encoder, load_preset, train_wordpiece
from radsearch.models.presets import PRESET_DIR


def test_model_directory_is_in_hugging_face_layout(tiny_model):
    names = {p.name for p in tiny_model.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "radsearch.json"} <= names
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["model_type"] == "vision-text-dual-encoder"


def test_reloaded_model_embeds_identically(tiny_model, tmp_path):
    model = RadsearchModel.from_pretrained(tiny_model)
    batch = np.random.default_rng(0).standard_normal((3, 1, 128, 128)).astype(np.float32)
    before_img, before_txt = model.encode_image(batch), model.encode_text(["left pleural effusion", "normal"])
    model.save_pretrained(tmp_path / "copy")
    again = RadsearchModel.from_pretrained(tmp_path / "copy")
    np.testing.assert_allclose(again.encode_image(batch), before_img, atol=1e-5)
    np.testing.assert_allclose(again.encode_text(["left pleural effusion", "normal"]), before_txt, atol=1e-5)
    assert again.model_id == model.model_id


def test_embeddings_are_unit_vectors_in_one_space(tiny_model):
    model = RadsearchModel.from_pretrained(tiny_model)
    images = model.encode_image(np.zeros((2, 1, 128, 128), np.float32))
    texts = model.encode_text(["cardiomegaly"])
    assert images.shape[1] == texts.shape[1] == model.embed_dim
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)


def test_folder_that_is_not_a_model_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ModelDirError, match="radsearch train"):
        RadsearchModel.from_pretrained(tmp_path)


def test_every_preset_builds_without_downloading():
    tokenizer = train_wordpiece(["no pleural effusion", "left pneumothorax"], 60)
    for name in available_presets():
        preset = load_preset(name)
        model = build_dual_encoder(preset, len(tokenizer))
        assert model.config.projection_dim == preset.embed_dim, name
    assert len(list(PRESET_DIR.glob("*.json"))) == len(available_presets())


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(Exception, match="tiny"):
        load_preset("huge")


def test_tokenizer_keeps_radiology_words_whole():
    tokenizer = train_wordpiece(["Small left pleural effusion.", "No pneumothorax."] * 20, 300)
    assert "effusion" in tokenizer.tokenize("pleural effusion")


def test_the_same_reports_always_give_the_same_vocabulary():
    texts = ["Small left pleural effusion.", "No pneumothorax.", "Cardiomegaly.", "Left lower zone consolidation."] * 3
    first, second = train_wordpiece(texts, 200), train_wordpiece(list(reversed(texts)), 200)
    assert first.get_vocab() == second.get_vocab()


def test_unseen_words_are_spelt_not_lost():
    tokenizer = train_wordpiece(["no pleural effusion"] * 5, 100)
    ids = tokenizer("pneumothorax")["input_ids"]
    assert tokenizer.unk_token_id not in ids and tokenizer.decode(ids, skip_special_tokens=True) == "pneumothorax"


def test_a_dinov2_tower_can_be_built_from_a_preset():
    from dataclasses import replace

    import torch
    tokenizer = train_wordpiece(["left pleural effusion", "no acute findings"], 60)
    preset = replace(load_preset("tiny-vit"), image_tower="dinov2",
                     image_config={"patch_size": 16, "hidden_size": 32, "num_hidden_layers": 1,
                                   "num_attention_heads": 2, "intermediate_size": 64})
    dual = build_dual_encoder(preset, len(tokenizer))
    features = dual.get_image_features(pixel_values=torch.zeros(2, 1, 128, 128)).pooler_output
    assert type(dual.vision_model).__name__ == "Dinov2Model" and features.shape == (2, preset.embed_dim)


def _tower_cosine_of_a_square_moved_across_the_image(preset: str) -> float:
    import torch

    from radsearch.imaging import PreprocessProfile
    tokenizer = train_wordpiece(["left pleural effusion"], 60)
    torch.manual_seed(0)
    model = RadsearchModel(build_dual_encoder(load_preset(preset), len(tokenizer)), tokenizer,
                           PreprocessProfile(size=128))
    model.eval()
    images = np.zeros((2, 1, 128, 128), np.float32)
    images[0, :, 16:40, 16:40] = 1.0  # top left
    images[1, :, 80:104, 80:104] = 1.0  # the same square, bottom right (a whole number of tower strides away)
    with torch.no_grad():
        features = model.image_tower_features(torch.from_numpy(images)).numpy()
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    return float(features[0] @ features[1])


def test_a_grid_pooled_tower_tells_where_a_feature_lies_and_a_global_one_does_not():
    assert _tower_cosine_of_a_square_moved_across_the_image("tiny") > 0.99  # global mean: same vector
    assert _tower_cosine_of_a_square_moved_across_the_image("tiny-grid") < 0.5


def test_a_grid_pooled_model_reloads_with_its_grid_and_embeds_identically(tmp_path):
    import torch
    tokenizer = train_wordpiece(["no pleural effusion", "left pneumothorax"], 60)
    from radsearch.imaging import PreprocessProfile
    model = RadsearchModel(build_dual_encoder(load_preset("tiny-grid"), len(tokenizer)), tokenizer,
                           PreprocessProfile(size=128))
    images = np.random.default_rng(0).random((2, 1, 128, 128), dtype=np.float32)
    before = model.encode_image(images)
    reloaded = RadsearchModel.from_pretrained(model.save_pretrained(tmp_path / "grid"))
    assert reloaded.pool_grid == 2 and model.project_image(torch.zeros(1, 4 * 256)).shape == (1, 128)
    np.testing.assert_array_equal(reloaded.encode_image(images), before)
