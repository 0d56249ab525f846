"""A radsearch model directory reads in plain transformers (AutoModel, AutoProcessor) and gives radsearch's
embeddings: through get_image_features for one pooled vector, through the model card's steps for the
grid-pooled presets."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from transformers import AutoModel, AutoProcessor

from radsearch.imaging import Radiograph
from radsearch.models import embed_radiographs, encode_texts, load_encoder
from radsearch.training import TrainSettings, train

TEXTS = ["left pleural effusion", "no acute cardiopulmonary abnormality"]


def _square_images(side: int, n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(4)
    return [rng.integers(0, 256, (side, side), dtype=np.uint8) for _ in range(n)]


def _plain(directory, images):  # noqa: ANN001, ANN202
    model = AutoModel.from_pretrained(directory, local_files_only=True).eval()
    processor = AutoProcessor.from_pretrained(directory, local_files_only=True)
    inputs = processor(images=[Image.fromarray(i) for i in images], text=TEXTS, return_tensors="pt", padding=True,
                       truncation=True)
    return model, inputs


@pytest.fixture(scope="module")
def grid_model(tiny_archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "model"
    return train(tiny_archive / "manifest.csv", out, replace(TrainSettings(epochs=1, batch_size=8),
                                                             preset="tiny-grid", splits=("train", "val", "test")),
                 progress=False)


def test_plain_transformers_gives_radsearchs_image_and_text_embeddings(tiny_model):
    encoder = load_encoder(tiny_model)
    images = _square_images(encoder.profile.size)
    model, inputs = _plain(tiny_model, images)
    with torch.no_grad():
        image = F.normalize(model.get_image_features(pixel_values=inputs.pixel_values).pooler_output, dim=-1)
        text = F.normalize(model.get_text_features(input_ids=inputs.input_ids,
                                                   attention_mask=inputs.attention_mask).pooler_output, dim=-1)
    ours = embed_radiographs(encoder, [Radiograph(i.astype(np.float32) / 255) for i in images])
    np.testing.assert_allclose(image.numpy(), ours, atol=1e-5)
    np.testing.assert_allclose(text.numpy(), encode_texts(encoder, TEXTS), atol=1e-5)


def test_a_grid_pooled_model_gives_its_embeddings_through_the_steps_its_model_card_shows(grid_model):
    encoder = load_encoder(grid_model)
    card = (grid_model / "README.md").read_text()
    steps = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    assert "adaptive_avg_pool2d(out.last_hidden_state, 2)" in steps
    images = _square_images(encoder.profile.size)
    model, inputs = _plain(grid_model, images)
    with pytest.raises(RuntimeError):  # why the card is needed: transformers projects one pooled vector
        model.get_image_features(pixel_values=inputs.pixel_values)
    namespace = {}
    code = steps.replace('AutoModel.from_pretrained("THIS_DIRECTORY")', "AutoModel.from_pretrained(directory)")
    code = code.replace('AutoProcessor.from_pretrained("THIS_DIRECTORY")', "AutoProcessor.from_pretrained(directory)")
    exec(code, {"directory": str(grid_model), "image": Image.fromarray(images[0])}, namespace)  # noqa: S102
    ours = embed_radiographs(encoder, [Radiograph(images[0].astype(np.float32) / 255)])
    np.testing.assert_allclose(namespace["image_vectors"].numpy(), ours, atol=1e-5)
    np.testing.assert_allclose(namespace["text_vectors"].numpy()[:1], encode_texts(encoder, TEXTS[:1]), atol=1e-5)
