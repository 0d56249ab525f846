"""The compare viewer's Python side: radiographs encoded for viewer.js, and the component that shows them.

Pixels go to the browser as 16-bit grey levels of the whole stored range (imaging.FULL_RANGE: modality LUT
applied, no window), zlib-compressed: the browser windows them itself, so window/level, zoom and pan are
immediate and linked across panes. Images longer than MAX_SIDE are reduced by area averaging first.
"""

from __future__ import annotations

import base64
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

HERE = Path(__file__).parent
MAX_SIDE = 3072  # most CR/DX films are 2-3k pixels a side: shown whole; larger ones are reduced to this
_COMPONENT = st.components.v2.component("radsearch.compare_viewer", js=(HERE / "viewer.js").read_text(),
                                        css=(HERE / "viewer.css").read_text())


@dataclass
class Pane:
    """One side of the compare view: an image's full-range pixels (or a text query's words) and its title."""

    title: str
    pixels: np.ndarray | None = None  # float [0, 1], bright = dense
    encoded: dict[str, Any] | None = None  # the pixels as encode_pixels gives them (cached by the caller)
    overlay: np.ndarray | None = None  # RGB(A) uint8 "where it matches", any size (stretched over the image)
    text: str = ""
    windows: list[dict[str, Any]] = field(default_factory=list)  # {name, centre, width} on the pixels' scale


def reduced(pixels: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """The image with its long side at most max_side (area averaging keeps fine lines visible)."""
    height, width = pixels.shape
    if max(height, width) <= max_side:
        return pixels
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(pixels.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))


def encode_pixels(pixels: np.ndarray) -> dict[str, Any]:
    """{width, height, pixels}: 16-bit grey levels, little-endian, zlib-compressed, base64."""
    shown = reduced(np.asarray(pixels, np.float32))
    levels = np.round(np.clip(shown, 0, 1) * 65535).astype("<u2")
    return {"width": int(shown.shape[1]), "height": int(shown.shape[0]),
            "pixels": base64.b64encode(zlib.compress(levels.tobytes(), 1)).decode("ascii")}


def encode_overlay(overlay: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(overlay, np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def viewer_data(panes: list[Pane], overlay: bool, key: str) -> dict[str, Any]:
    """What viewer.js receives: the panes, the header windows (of the first pane that has any), the starting
    window (the first of those, else the full range) and whether overlays are drawn."""
    windows = next((p.windows for p in panes if p.windows), [])
    start = {"centre": windows[0]["centre"], "width": windows[0]["width"]} if windows else \
        {"centre": 0.5, "width": 1.0}
    shown = []
    for pane in panes:
        item: dict[str, Any] = {"title": pane.title, "text": pane.text}
        if pane.encoded is not None:
            item |= pane.encoded
        elif pane.pixels is not None:
            item |= encode_pixels(pane.pixels)
        if pane.overlay is not None:
            item["overlay"] = encode_overlay(pane.overlay)
        shown.append(item)
    return {"panes": shown, "windows": windows, "start": start, "overlay": overlay, "key": key}


def show_viewer(panes: list[Pane], overlay: bool = False, key: str = "compare") -> None:
    """Mount the compare viewer with these panes (its window, zoom and pan are shared by all of them)."""
    _COMPONENT(data=viewer_data(panes, overlay, key), key=f"viewer-{key}")


_LINK = st.components.v2.component("radsearch.copy_link", js=(HERE / "link.js").read_text(),
                                   css=(HERE / "viewer.css").read_text())


def copy_link(note: str = "") -> None:
    """A "Copy link" button: the page's address (the search, its filters and options, as the URL holds them)
    to the clipboard, and shown for copying by hand where the browser allows no clipboard (plain http)."""
    _LINK(data={"note": note}, key="copy-link")
