"""radsearch reproduces published image processors exactly: for each processor a foundation model may ship,
the pixels radsearch feeds the encoder equal those transformers' own processor makes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from transformers import AutoImageProcessor

from radsearch.errors import ModelDirError
from radsearch.imaging import PreprocessProfile, Radiograph, preprocess
from radsearch.models.processing import profile_from_processor

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
PROCESSORS = {  # what published checkpoints ship (sizes shrunk so the test is quick)
    "dinov2 (Bit)": {"image_processor_type": "BitImageProcessor", "size": {"shortest_edge": 40},
                     "crop_size": {"height": 32, "width": 32}, "do_center_crop": True, "resample": 3,
                     "image_mean": IMAGENET[0], "image_std": IMAGENET[1]},
    "rad-dino (Bit)": {"image_processor_type": "BitImageProcessor", "size": {"shortest_edge": 37},
                       "crop_size": {"height": 37, "width": 37}, "do_center_crop": True, "resample": 3,
                       "image_mean": [0.5307, 0.5307, 0.5307], "image_std": [0.2583, 0.2583, 0.2583]},
    "vit": {"image_processor_type": "ViTImageProcessor", "size": {"height": 32, "width": 32}, "resample": 2,
            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
    "clip": {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 30},
             "crop_size": {"height": 30, "width": 30}, "do_center_crop": True, "resample": 3,
             "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]},
    "siglip": {"image_processor_type": "SiglipImageProcessor", "size": {"height": 28, "width": 28}, "resample": 3,
               "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
    "convnext": {"image_processor_type": "ConvNextImageProcessor", "size": {"shortest_edge": 32}, "crop_pct": 0.875,
                 "resample": 3, "image_mean": IMAGENET[0], "image_std": IMAGENET[1]},
    "convnext 384": {"image_processor_type": "ConvNextImageProcessor", "size": {"shortest_edge": 384},
                     "resample": 3, "image_mean": IMAGENET[0], "image_std": IMAGENET[1]},
    "beit": {"image_processor_type": "BeitImageProcessor", "size": {"height": 36, "width": 36}, "do_center_crop": True,
             "crop_size": {"height": 32, "width": 32}, "resample": 3, "image_mean": [0.5] * 3, "image_std": [0.5] * 3},
}


@pytest.mark.parametrize("name", list(PROCESSORS))
def test_the_pixels_equal_those_of_the_published_processor(name, tmp_path):
    config = PROCESSORS[name] | {"do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                                 "do_resize": True}
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    reference = AutoImageProcessor.from_pretrained(tmp_path, local_files_only=True)
    profile = profile_from_processor(tmp_path)
    rng = np.random.default_rng(0)
    for height, width in ((61, 47), (40, 90), (500, 400), (33, 33)):
        grey = rng.integers(0, 256, (height, width), dtype=np.uint8)
        expected = reference(images=Image.fromarray(grey).convert("RGB"), return_tensors="np")["pixel_values"][0]
        ours = preprocess(Radiograph(grey.astype(np.float32) / 255), profile)
        assert ours.shape == expected.shape, (name, height, width)
        np.testing.assert_allclose(ours, expected, atol=1e-5, err_msg=f"{name} at {height}x{width}")


def test_a_processor_radsearch_cannot_reproduce_is_refused_by_name(tmp_path):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": "DonutImageProcessor"}))
    with pytest.raises(ModelDirError, match="DonutImageProcessor is not one radsearch reproduces"):
        profile_from_processor(tmp_path)
    (tmp_path / "preprocessor_config.json").unlink()
    with pytest.raises(ModelDirError, match="no preprocessor_config.json"):
        profile_from_processor(tmp_path)


def test_a_radsearch_profile_hashes_as_it_always_did():
    """Libraries record their profile's hash; the four original fields hash as before the published fits."""
    assert PreprocessProfile(size=128, channels=1, mean=0.5, std=0.25).to_dict() == {
        "size": 128, "channels": 1, "mean": 0.5, "std": 0.25}
    assert PreprocessProfile(size=128).hash == PreprocessProfile.from_dict({"size": 128, "channels": 1, "mean": 0.5,
                                                                            "std": 0.25}).hash
    published = PreprocessProfile(size=32, channels=3, mean=(0.1, 0.2, 0.3), std=(0.5, 0.5, 0.5),
                                  fit="shortest_edge", resize=40, crop=True, resample="bicubic")
    assert PreprocessProfile.from_dict(json.loads(json.dumps(published.to_dict()))) == published
