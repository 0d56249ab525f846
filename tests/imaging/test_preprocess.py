"""imaging.preprocess: encoder input of fixed size, padded (not stretched), profile-hashed."""

from __future__ import annotations

import numpy as np

from radsearch.imaging import PreprocessProfile, Radiograph, preprocess


def test_rectangular_image_is_padded_not_stretched():
    pixels = np.zeros((100, 50), np.float32)
    pixels[:, :] = 1.0  # a white tall image
    out = preprocess(Radiograph(pixels), PreprocessProfile(size=64, mean=0.0, std=1.0))
    assert out.shape == (1, 64, 64)
    row = out[0, 32]
    assert row[:12].max() < 0.05 and row[-12:].max() < 0.05  # black side bars: the aspect ratio is kept
    assert row[24:40].min() > 0.95


def test_profile_hash_changes_with_any_setting():
    assert PreprocessProfile(size=128).hash != PreprocessProfile(size=224).hash
    assert PreprocessProfile().hash == PreprocessProfile().hash


def test_three_channel_profile_repeats_grayscale():
    out = preprocess(Radiograph(np.random.default_rng(0).random((40, 40))), PreprocessProfile(size=32, channels=3))
    assert out.shape == (3, 32, 32)
    np.testing.assert_array_equal(out[0], out[2])
