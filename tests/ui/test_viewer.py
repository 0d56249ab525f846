"""The compare viewer's payload: what the browser receives must be the image, whole and at full depth."""

from __future__ import annotations

import base64
import zlib

import numpy as np

from radsearch.ui.viewer import MAX_SIDE, Pane, encode_pixels, viewer_data


def decoded(payload: dict) -> np.ndarray:
    levels = np.frombuffer(zlib.decompress(base64.b64decode(payload["pixels"])), dtype="<u2")
    return levels.reshape(payload["height"], payload["width"]) / 65535


def test_pixels_reach_the_browser_at_16_bits_not_8():
    ramp = np.linspace(0, 1, 300 * 200, dtype=np.float32).reshape(300, 200)
    payload = encode_pixels(ramp)
    assert (payload["height"], payload["width"]) == (300, 200)
    back = decoded(payload)
    assert np.abs(back - ramp).max() < 1 / 65535 + 1e-6
    assert len(np.unique(back)) > 256 * 16  # a narrow window still has levels to spread


def test_a_film_larger_than_the_limit_is_reduced_whole_not_cropped():
    big = np.zeros((MAX_SIDE * 2, MAX_SIDE), np.float32)
    big[-10:, :] = 1.0  # a bright band at the very bottom survives the reduction
    payload = encode_pixels(big)
    assert (payload["height"], payload["width"]) == (MAX_SIDE, MAX_SIDE // 2)
    assert decoded(payload)[-3:].mean() > 0.5


def test_the_header_windows_of_the_first_pane_that_has_them_open_the_view():
    windows = [{"name": "centre 300 / width 600", "centre": 0.4, "width": 0.2}]
    data = viewer_data([Pane("Query", text="left pleural effusion"),
                        Pane("Result", pixels=np.zeros((8, 8), np.float32), windows=windows)], False, "compare")
    assert data["windows"] == windows and data["start"] == {"centre": 0.4, "width": 0.2}
    assert data["panes"][0] == {"title": "Query", "text": "left pleural effusion"}  # a text query: its words
    plain = viewer_data([Pane("Result", pixels=np.zeros((8, 8), np.float32))], False, "compare")
    assert plain["start"] == {"centre": 0.5, "width": 1.0}  # no header window: the whole range
