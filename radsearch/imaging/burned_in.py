"""Text burned into pixel data (names, dates, IDs stamped by a modality), found by OCR and masked.

Tesseract (Debian's `tesseract-ocr`, called through pytesseract) reads the image twice: once after a
white top-hat, which keeps thin bright strokes and flattens the anatomy under them, and once after a
black top-hat for dark strokes, each binarised with a local (Sauvola) threshold. That finds white text
over bright bone as well as over the dark background, which a global threshold misses; text as bright
as the saturated anatomy under it shows nothing to OCR, or to a reader. A word counts when Tesseract
is confident of it and it has three or more letters or digits; a line counts when it has such a word
of four or more, or two of them, and the whole line's box, padded, is what `mask` blanks.
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ..errors import RadsearchError

log = logging.getLogger(__name__)

MIN_CONFIDENCE = 85  # Tesseract's word confidence (0-100): noise read as words stays below it
MIN_CHARACTERS = 3  # letters or digits in a word; anatomy and noise give two-letter "words"
OCR_SIDE = 1200  # images are scaled so that their long side is about this (text then has a height Tesseract reads)
PAD = 0.25  # of a box's height, added on every side before masking
GAP = 40  # blank rows between pages on one sheet


class OcrUnavailable(RadsearchError):
    """Tesseract is not installed, so burned-in text cannot be looked for."""


@dataclass(frozen=True)
class TextBox:
    """One word found in the pixels: its box in image pixels (y0, x0, y1, x1), text and confidence."""

    y0: int
    x0: int
    y1: int
    x1: int
    text: str
    confidence: float


def available() -> bool:
    """Whether OCR can run here (the tesseract program and the pytesseract binding)."""
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    return shutil.which("tesseract") is not None


def find_text(image: np.ndarray, side: int = OCR_SIDE) -> list[TextBox]:
    """Lines of words burned into a 2-D image (any dtype, any grey range), in image coordinates.

    side: the long side the image is scaled to for OCR; smaller is faster (curation reads thumbnails
    at 576), larger finds smaller text.
    """
    return find_text_many([image], side)[0]


def find_text_many(images: list[np.ndarray], side: int = OCR_SIDE, per_run: int = 8) -> list[list[TextBox]]:
    """find_text for several images, `per_run` of them read in one Tesseract run.

    Tesseract spends about half a second starting (loading its model) whatever the image, so the pages
    of several images are stacked on one sheet and the lines found are given back to their image.
    """
    if not available():
        raise OcrUnavailable("burned-in text needs Tesseract OCR: install Debian's tesseract-ocr package "
                             "(apt-get install tesseract-ocr) and the pytesseract package")
    import pytesseract

    found: list[list[TextBox]] = []
    for first in range(0, len(images), per_run):
        pages, places = [], []  # places: (image index, top of its page on the sheet, scale)
        top = 0
        for index in range(first, min(first + per_run, len(images))):
            for page, scale in _pages(images[index], side):
                pages.append(page)
                places.append((index - first, top, page.shape[0], scale))
                top += page.shape[0] + GAP
        width = max(page.shape[1] for page in pages)
        sheet = np.full((top, width), 255, np.uint8)
        for page, (_, y, _, _) in zip(pages, places):
            sheet[y:y + page.shape[0], :page.shape[1]] = page
        # psm 11: sparse text anywhere; thresholding_method 2: Sauvola's local threshold, for faint text
        with _one_thread():
            data = pytesseract.image_to_data(Image.fromarray(sheet), config="--psm 11 -c thresholding_method=2",
                                             output_type=pytesseract.Output.DICT)
        boxes: list[list[TextBox]] = [[] for _ in range(min(per_run, len(images) - first))]
        for y0, x0, y1, x1, text, conf in _lines(data):
            for index, y, height, scale in places:
                if y <= y0 and y1 <= y + height:  # a line across a gap belongs to no page
                    boxes[index].append(TextBox(int((y0 - y) / scale), int(x0 / scale), int((y1 - y) / scale) + 1,
                                                int(x1 / scale) + 1, text, conf))
                    break
        found += [_merged(b) for b in boxes]
    return found


@contextmanager
def _one_thread():
    """Tesseract's OpenMP threads on a small machine made it four times slower (2.96 s against 0.71 s
    per preview on 2 cores): its runs get one thread. pytesseract passes os.environ to the child, so
    the limit is set there for the length of one run and restored after it."""
    before = os.environ.get("OMP_THREAD_LIMIT")
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OMP_THREAD_LIMIT", None)
        else:
            os.environ["OMP_THREAD_LIMIT"] = before


def _pages(image: np.ndarray, side: int) -> list[tuple[np.ndarray, float]]:
    """The two pages Tesseract reads for one image: bright strokes and dark strokes, as dark text on white."""
    grey = np.asarray(image, dtype=np.float32)
    if grey.ndim == 3:
        grey = grey.mean(axis=-1)
    scale = side / max(grey.shape)
    small = np.asarray(Image.fromarray(_to_uint8(grey)).resize(
        (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))), Image.BILINEAR), np.float32)
    small = ndimage.median_filter(small, size=3)  # quantum noise would otherwise read as letters
    size = max(9, int(side * 0.03))  # wider than a stroke, narrower than anatomy
    pages = []
    for strokes in (ndimage.white_tophat(small, size=size), ndimage.black_tophat(small, size=size)):
        # below the 90th percentile is texture (text covers a few per cent of an image at most): flattened,
        # so Tesseract neither reads it as letters nor spends seconds on its thousands of blobs
        low, high = float(np.percentile(strokes, 90)), float(np.percentile(strokes, 99.5))
        gain = 255.0 / max(high - low, 1.0)
        pages.append((255 - np.clip((strokes - low) * gain, 0, 255).astype(np.uint8), scale))
    return pages


def mask(pixels: np.ndarray, boxes: list[TextBox]) -> np.ndarray:
    """A copy of `pixels` with every box (padded) set to the image's minimum value."""
    out = np.array(pixels, copy=True)
    low = out.min()
    rows, cols = out.shape[:2]
    for box in boxes:
        pad = max(2, int((box.y1 - box.y0) * PAD))
        out[max(0, box.y0 - pad):min(rows, box.y1 + pad), max(0, box.x0 - pad):min(cols, box.x1 + pad)] = low
    return out


def masked_until_unreadable(pixels: np.ndarray, found: list[TextBox] | None = None,
                            rounds: int = 3) -> tuple[np.ndarray, list[TextBox]]:
    """`pixels` with text masked, read again after each mask until OCR finds nothing (at most `rounds`).

    Masking one line changes the contrast the others are read with, and a line beside a masked one is
    often read only then; so the image is read again, not trusted after one pass.
    """
    out, every = pixels, []
    boxes = list(found) if found is not None else find_text(pixels)
    for _ in range(rounds):
        if not boxes:
            break
        every += boxes
        out = mask(out, boxes)
        boxes = find_text(out)
    if boxes:  # still read after the last round: masked all the same
        every += boxes
        out = mask(out, boxes)
    return out, every


def _lines(data: dict) -> list[tuple[int, int, int, int, str, float]]:
    """Tesseract's text lines that hold real words: one of four or more letters or digits, or two of three.

    The whole line's box is returned (it covers characters Tesseract saw but could not read, such as the
    digits after "MRN"), with its confident words as its text.
    """
    words: dict[tuple, list[tuple[str, float]]] = {}
    boxes: dict[tuple, tuple[int, int, int, int]] = {}
    for i, level in enumerate(data["level"]):
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        top, left = data["top"][i], data["left"][i]
        box = (top, left, top + data["height"][i], left + data["width"][i])
        if level == 4:
            boxes[key] = box
        elif level == 5:
            word, conf = str(data["text"][i]).strip(), float(data["conf"][i])
            if conf >= MIN_CONFIDENCE and sum(c.isalnum() for c in word) >= MIN_CHARACTERS:
                words.setdefault(key, []).append((word, conf))
    found = []
    for key, kept in words.items():
        long_word = any(sum(c.isalnum() for c in word) >= MIN_CHARACTERS + 1 for word, _ in kept)
        if (long_word or len(kept) >= 2) and key in boxes:
            found.append((*boxes[key], " ".join(word for word, _ in kept), min(conf for _, conf in kept)))
    return found


def _to_uint8(grey: np.ndarray) -> np.ndarray:
    low, high = float(np.min(grey)), float(np.max(grey))
    if high <= low:
        return np.zeros(grey.shape, np.uint8)
    return np.clip((grey - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)


def _merged(boxes: list[TextBox]) -> list[TextBox]:
    """One box per word: the same word read in both passes is kept once, with the larger box."""
    kept: list[TextBox] = []
    for box in sorted(boxes, key=lambda b: -b.confidence):
        if not any(_overlap(box, other) > 0.5 for other in kept):
            kept.append(box)
    return sorted(kept, key=lambda b: (b.y0, b.x0))


def _overlap(a: TextBox, b: TextBox) -> float:
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    if height <= 0 or width <= 0:
        return 0.0
    smaller = min((a.y1 - a.y0) * (a.x1 - a.x0), (b.y1 - b.y0) * (b.x1 - b.x0))
    return height * width / max(1, smaller)
