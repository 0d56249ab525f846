"""open_clip checkpoints of BiomedCLIP's kind load without open_clip, timm or torchvision, and embed images
and texts as the real open_clip does (reference embeddings it computed: fixtures/open_clip)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from radsearch.errors import ModelDirError
from radsearch.imaging import Radiograph
from radsearch.models import embed_radiographs, encode_texts, load_encoder

FIXTURE = Path(__file__).parent / "fixtures" / "open_clip"


def test_images_and_texts_embed_as_open_clip_does():
    reference = np.load(FIXTURE / "reference.npz")
    encoder = load_encoder(FIXTURE / "biomedclip-tiny")
    assert encoder.info["family"] == "open-clip" and encoder.towers == frozenset({"image", "text"})
    images = [Radiograph(reference[f"image_{n}"].astype(np.float32) / 255) for n in range(4)]
    np.testing.assert_allclose(embed_radiographs(encoder, images), reference["image_embeddings"], atol=1e-5)
    np.testing.assert_allclose(encode_texts(encoder, list(reference["texts"])), reference["text_embeddings"],
                               atol=1e-5)
    assert encoder.similarity_scale == pytest.approx(float(reference["logit_scale"]), rel=1e-6)


def test_a_checkpoint_without_its_text_tower_files_says_where_they_go(tmp_path):
    directory = tmp_path / "biomedclip"
    shutil.copytree(FIXTURE / "biomedclip-tiny", directory)
    (directory / "config.json").unlink()
    with pytest.raises(ModelDirError, match="text tower's config.json and tokenizer are missing.*beside "
                                            "open_clip_config.json"):
        load_encoder(directory)


def test_an_image_tower_radsearch_cannot_convert_is_refused_by_name(tmp_path):
    directory = tmp_path / "convnext-clip"
    shutil.copytree(FIXTURE / "biomedclip-tiny", directory)
    config = json.loads((directory / "open_clip_config.json").read_text())
    config["model_cfg"]["vision_cfg"]["timm_model_name"] = "convnext_base"
    (directory / "open_clip_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirError, match="convnext_base is not a timm ViT"):
        load_encoder(directory)
    (directory / "open_clip_pytorch_model.bin").unlink()
    config["model_cfg"]["vision_cfg"]["timm_model_name"] = "vit_base_patch16_224"
    (directory / "open_clip_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirError, match="has no open_clip weights"):
        load_encoder(directory)
