"""Published model families used as they are: for each, a tiny random checkpoint in the published layout
gives radsearch embeddings equal to transformers' own processor and forward (fp32, 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

from radsearch.errors import ModelDirError, NoTextTower
from radsearch.imaging import Radiograph
from radsearch.models import embed_radiographs, encode_texts, load_encoder
from radsearch.models.standins import write_standin

IMAGE_FAMILIES = {"rad-dino": "pooler", "dinov2": "pooler", "dinov2-registers": "pooler", "vit": "cls",
                  "convnext": "pooler", "swin": "pooler", "beit": "pooler"}
TEXTS = ["left pleural effusion", "no acute cardiopulmonary abnormality", "a fracture of the distal radius"]


def _radiographs(n: int = 3) -> list[Radiograph]:
    rng = np.random.default_rng(1)
    shapes = [(70, 50), (48, 64), (40, 40), (90, 33)]
    return [Radiograph(rng.integers(0, 256, shapes[i % len(shapes)], dtype=np.uint8).astype(np.float32) / 255)
            for i in range(n)]


def _reference_images(directory, radiographs, readout: str = "pooler", features=None) -> np.ndarray:  # noqa: ANN001
    """What transformers does with the published checkpoint: its processor, its forward, the authors' readout."""
    processor = AutoImageProcessor.from_pretrained(directory, local_files_only=True)
    model = AutoModel.from_pretrained(directory, local_files_only=True).eval()
    images = [Image.fromarray(np.round(rg.pixels * 255).astype(np.uint8)).convert("RGB") for rg in radiographs]
    inputs = processor(images=images, return_tensors="pt")
    with torch.no_grad():
        if features is not None:
            out = features(model, inputs)
        else:
            out = model(**inputs)
            out = out.last_hidden_state[:, 0] if readout == "cls" else out.pooler_output
    return F.normalize(out, dim=-1).numpy()


@pytest.mark.parametrize("kind", list(IMAGE_FAMILIES))
def test_an_image_backbone_embeds_as_transformers_does(kind, tmp_path):
    directory = write_standin(kind, tmp_path / kind)
    encoder = load_encoder(directory)
    assert encoder.info["family"] == "hf-image" and encoder.towers == frozenset({"image"})
    radiographs = _radiographs()
    ours = embed_radiographs(encoder, radiographs)
    np.testing.assert_allclose(ours, _reference_images(directory, radiographs, IMAGE_FAMILIES[kind]), atol=1e-5)
    assert ours.shape[1] == encoder.embed_dim
    with pytest.raises(NoTextTower, match="radsearch align"):
        encoder.encode_text(["effusion"])


def _image_features(model, inputs):  # noqa: ANN001, ANN202
    out = model.get_image_features(**inputs)
    return out if isinstance(out, torch.Tensor) else out.pooler_output


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_an_image_text_model_embeds_both_sides_as_transformers_does(kind, tmp_path):
    directory = write_standin(kind, tmp_path / kind)
    encoder = load_encoder(directory)
    assert encoder.info["family"] == "hf-clip" and encoder.towers == frozenset({"image", "text"})
    radiographs = _radiographs()
    np.testing.assert_allclose(embed_radiographs(encoder, radiographs),
                               _reference_images(directory, radiographs, features=_image_features), atol=1e-5)
    tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    model = AutoModel.from_pretrained(directory, local_files_only=True).eval()
    padding = "max_length" if kind == "siglip" else True  # SigLIP's documented use
    inputs = tokenizer(TEXTS, padding=padding, return_tensors="pt")
    if kind == "siglip":
        inputs.pop("attention_mask", None)
    with torch.no_grad():
        out = model.get_text_features(**inputs)
    expected = F.normalize(out if isinstance(out, torch.Tensor) else out.pooler_output, dim=-1).numpy()
    np.testing.assert_allclose(encode_texts(encoder, TEXTS), expected, atol=1e-5)
    assert encoder.similarity_scale == pytest.approx(float(model.logit_scale.detach().exp()))


def test_wrong_or_partial_directories_name_what_is_missing(tmp_path):
    directory = write_standin("dinov2", tmp_path / "dino")
    (directory / "model.safetensors").unlink()
    with pytest.raises(ModelDirError, match="has no weights"):
        load_encoder(directory)
    directory = write_standin("vit", tmp_path / "vit")
    (directory / "preprocessor_config.json").unlink()
    with pytest.raises(ModelDirError, match="no preprocessor_config.json"):
        load_encoder(directory)
    directory = write_standin("clip", tmp_path / "clip")
    for name in ("tokenizer.json", "vocab.json", "merges.txt"):
        (directory / name).unlink(missing_ok=True)
    with pytest.raises(ModelDirError, match="no usable tokenizer"):
        load_encoder(directory)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"model_type": "whisper"}')
    with pytest.raises(ModelDirError, match="model_type 'whisper'.*radsearch reads"):
        load_encoder(tmp_path / "other")


def test_weights_that_do_not_fit_the_config_are_refused_not_initialised_at_random(tmp_path):
    from safetensors.torch import load_file, save_file
    directory = write_standin("beit", tmp_path / "beit")
    weights = load_file(str(directory / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if not k.startswith("pooler.")}, str(directory / "model.safetensors"),
              metadata={"format": "pt"})
    with pytest.raises(ModelDirError, match=r"do not fit its config.json: 2 weights .* missing \(pooler"):
        load_encoder(directory)


def test_an_open_clip_checkpoint_with_renamed_weights_is_refused_naming_them(tmp_path):
    import shutil
    from pathlib import Path
    source = Path(__file__).parent / "fixtures" / "open_clip" / "biomedclip-tiny"
    directory = shutil.copytree(source, tmp_path / "biomedclip")
    state = torch.load(directory / "open_clip_pytorch_model.bin", weights_only=True)
    state["text.transformer.encoder.layer.0.output.dense.kernel"] = state.pop(
        "text.transformer.encoder.layer.0.output.dense.weight")
    torch.save(state, directory / "open_clip_pytorch_model.bin")
    with pytest.raises(ModelDirError, match=r"text weights do not fit .*output.dense"):
        load_encoder(directory)
