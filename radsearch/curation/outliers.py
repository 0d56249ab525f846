"""Outliers: wrong anatomy, inverted grey scale, bad windowing and burned-in text (flagged, never changed).

Wrong anatomy is a vote of the image's nearest neighbours (most of them show another body part).
Inversion asks the encoder: does the image's negative look more like its body part than the image?
Windowing and text are read from the stored preview's pixels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from ..imaging import PreprocessProfile, burned_in, preprocess
from ..imaging.radiograph import Radiograph
from ..storage import ImageRecord, LibraryStore
from ..storage.thumbnails import thumbnail_pixels
from .neighbours import knn_graph

# Defaults, each with its reason.
NEIGHBOURS = 10  # votes per image for its body part
WRONG_ANATOMY_SHARE = 0.6  # this share of neighbours agreeing on another body part makes it a suspect
MIN_CENTRE_IMAGES = 5  # images a body part and view needs before its centre can confirm a suspect's anatomy
INVERSION_MARGIN = 0.02  # the negative must be this much closer (cosine) to the body part's centre
INVERSION_CHECK_SHARE = 0.1  # the farthest 10% of each body part (and all anatomy outliers) are checked
WINDOW_PEERS = 100  # images of a body part a suspect's window is compared with (a sample: cost stays bounded)
WINDOW_Z = 5.0  # robust z-score against the image's body part that makes a window doubtful
WINDOW_FLOOR = 0.02  # added to each spread (MAD): a body part whose images barely vary is not over-sensitive
TEXT_CONTRAST = 0.45  # a stroke stands this far above (or below) its surroundings: anatomy's lines do not
TEXT_MIN_CHARS = 3  # characters in a row that make a text line
OCR_SIDE = 576  # previews (192 px) are read by OCR three times enlarged
OCR_BATCH = 8  # previews per Tesseract run (each run spends about half a second starting)


def anatomy_outliers(ids: np.ndarray, vectors: np.ndarray, body_parts: dict[int, str | None],
                     k: int = NEIGHBOURS) -> list[dict[str, Any]]:
    """Images whose neighbours mostly show one other body part; `suggested` is that part."""
    neighbours, _ = knn_graph(ids, vectors, k)
    rows = []
    for image_id, row in zip(ids.tolist(), neighbours.tolist()):
        own = body_parts.get(image_id)
        votes = Counter(body_parts.get(n) for n in row if n >= 0)
        if not own or not votes:
            continue
        part, count = votes.most_common(1)[0]
        share = count / sum(votes.values())
        if part and part != own and share >= WRONG_ANATOMY_SHARE:
            rows.append({"image_id": image_id, "problem": "wrong_anatomy", "score": round(share, 3),
                         "stored": own, "suggested": part,
                         "reason": f"{count} of {sum(votes.values())} nearest images are {part}, not {own}"})
    return rows


def part_centres(ids: np.ndarray, vectors: np.ndarray, body_parts: dict[int, str | None]
                 ) -> dict[str, tuple[np.ndarray, float, np.ndarray]]:
    """Body part -> (unit centre, the closeness its farthest INVERSION_CHECK_SHARE fall below, member rows)."""
    parts = np.array([body_parts.get(int(i)) or "" for i in ids])
    out = {}
    for part in sorted(set(parts.tolist()) - {""}):
        rows = np.flatnonzero(parts == part)
        centre = vectors[rows].mean(axis=0)
        centre /= np.linalg.norm(centre) + 1e-12
        out[part] = (centre, float(np.quantile(vectors[rows] @ centre, INVERSION_CHECK_SHARE)), rows)
    return out


def inversion_candidates(ids: np.ndarray, vectors: np.ndarray,
                         centres: dict[str, tuple[np.ndarray, float, np.ndarray]]) -> list[int]:
    """The images worth an inversion check: the farthest of each body part from its centre."""
    chosen: set[int] = set()
    for centre, cut, rows in centres.values():
        chosen.update(int(ids[r]) for r in rows[vectors[rows] @ centre <= cut])
    return sorted(chosen)


def inverted_images(store: LibraryStore, candidates: list[int],
                    centres: dict[str, tuple[np.ndarray, float, np.ndarray]], body_parts: dict[int, str | None],
                    encode: Callable[[np.ndarray], np.ndarray], profile: PreprocessProfile,
                    batch: int = 32) -> list[dict[str, Any]]:
    """Candidates whose negative the encoder places among typical images of their body part, and closer to
    its centre than the image itself: what a grey scale stored the wrong way round looks like."""
    rows = []
    for start in range(0, len(candidates), batch):
        chunk = [(i, thumbnail_pixels(store, i)) for i in candidates[start:start + batch]]
        chunk = [(i, p) for i, p in chunk if p is not None and body_parts.get(i) in centres]
        if not chunk:
            continue
        images = [preprocess(Radiograph(p), profile) for _, p in chunk]
        negatives = [preprocess(Radiograph(1.0 - p), profile) for _, p in chunk]
        vectors = encode(np.stack(images + negatives))
        for n, (image_id, _) in enumerate(chunk):
            centre, typical, _ = centres[body_parts[image_id]]
            as_is, flipped = float(vectors[n] @ centre), float(vectors[n + len(chunk)] @ centre)
            if flipped > as_is + INVERSION_MARGIN and flipped >= typical:
                rows.append({"image_id": image_id, "problem": "inverted", "score": round(flipped - as_is, 3),
                             "stored": body_parts[image_id], "suggested": "invert",
                             "reason": f"its negative looks like a typical {body_parts[image_id]} image "
                                       f"(cosine to their centre {flipped:.3f} against {as_is:.3f})"})
    return rows


def anatomy_and_inversion(store: LibraryStore, ids: np.ndarray, vectors: np.ndarray,
                          rows: dict[int, ImageRecord], encode: Callable[[np.ndarray], np.ndarray] | None,
                          profile: PreprocessProfile | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(wrong-anatomy rows, inverted rows), each image called one or the other (an inverted film also looks
    like another body part). Without an encoder no inversion check runs.

    Wrong anatomy: most neighbours show another body part, and of every body part and view (a lateral
    chest is not a PA chest) the centre the image lies nearest belongs to that part.
    """
    parts = {i: r.metadata["body_part"] for i, r in rows.items()}
    position = {int(i): n for n, i in enumerate(ids)}
    views = part_centres(ids, vectors, {i: f"{parts[i]}/{r.metadata['view']}" for i, r in rows.items() if parts[i]})
    # a centre of a few images can be made of misfiled ones alone (two knees filed as chest APs): it would
    # vouch for them, so only groups of MIN_CENTRE_IMAGES or more are centres
    views = {name: centre for name, centre in views.items() if len(centre[2]) >= MIN_CENTRE_IMAGES}
    names = sorted(views)
    if not names:
        return [], []
    matrix = np.stack([views[n][0] for n in names])
    anatomy = [r for r in anatomy_outliers(ids, vectors, parts)
               if names[int(np.argmax(matrix @ vectors[position[r["image_id"]]]))].split("/")[0] == r["suggested"]]
    windowed = badly_windowed(store, anatomy, parts)
    anatomy = [r for r in anatomy if r["image_id"] not in windowed]
    if encode is None or profile is None:
        return anatomy, []
    centres = part_centres(ids, vectors, parts)
    # a film typical of the body part its neighbours show is filed under the wrong one, not inverted
    elsewhere = {r["image_id"] for r in anatomy if r["suggested"] in centres and
                 float(vectors[position[r["image_id"]]] @ centres[r["suggested"]][0]) >= centres[r["suggested"]][1]}
    candidates = [i for i in inversion_candidates(ids, vectors, centres) if i not in elsewhere]
    inverted = inverted_images(store, candidates, centres, parts, encode, profile)
    flipped = {r["image_id"] for r in inverted}
    return [r for r in anatomy if r["image_id"] not in flipped], inverted


def badly_windowed(store: LibraryStore, suspects: list[dict[str, Any]], body_parts: dict[int, str | None],
                   peers: int = WINDOW_PEERS, seed: int = 0) -> set[int]:
    """Wrong-anatomy suspects whose window is unlike that of their stored body part and of the one their
    neighbours suggest, each judged against a sample of its images: such a film looks like another part
    because of its grey scale, not its anatomy (the window check reports it). A film truly filed under
    the wrong part is windowed like the part it shows."""
    rng = np.random.default_rng(seed)
    members: dict[str, list[int]] = {}
    for image_id, part in body_parts.items():
        if part:
            members.setdefault(part, []).append(image_id)
    cache: dict[int, dict[str, float] | None] = {}

    def stats(image_id: int) -> dict[str, float] | None:
        if image_id not in cache:
            pixels = thumbnail_pixels(store, image_id)
            cache[image_id] = window_stats(pixels) if pixels is not None else None
        return cache[image_id]

    def unlike(image_id: int, part: str) -> bool:
        pool = [i for i in members.get(part, []) if i != image_id]
        sample = [int(i) for i in rng.choice(pool, min(peers, len(pool)), replace=False)] if pool else []
        table = {i: st for i in [image_id, *sample] if (st := stats(i)) is not None}
        return image_id in window_problems(table, {i: part for i in table})

    return {r["image_id"] for r in suspects if stats(r["image_id"]) is not None
            and unlike(r["image_id"], r["stored"]) and unlike(r["image_id"], r["suggested"])}


def window_stats(pixels: np.ndarray) -> dict[str, float]:
    """Share of pure white, share of pure black, and the 1st-99th percentile spread of a displayed image."""
    lo, hi = np.quantile(pixels, [0.01, 0.99])
    return {"white": float(np.mean(pixels >= 254 / 255)), "black": float(np.mean(pixels <= 1 / 255)),
            "spread": float(hi - lo)}


def window_problems(stats: dict[int, dict[str, float]], body_parts: dict[int, str | None]
                    ) -> dict[int, tuple[float, str]]:
    """Image id -> (score, why) for windows unlike their body part's: far more pure white or black, or a much
    narrower spread (robust z-scores). Judged against peers because a hand's air is black in a good window."""
    out: dict[int, tuple[float, str]] = {}
    groups: dict[str | None, list[int]] = {}
    for image_id in stats:
        groups.setdefault(body_parts.get(image_id), []).append(image_id)
    for members in groups.values():
        if len(members) < 5:
            continue
        table = {k: np.array([stats[i][k] for i in members]) for k in ("white", "black", "spread")}
        norm = {k: (float(np.median(v)), 1.4826 * float(np.median(np.abs(v - np.median(v)))) + WINDOW_FLOOR)
                for k, v in table.items()}
        for image_id in members:
            st = stats[image_id]
            z = {"white": (st["white"] - norm["white"][0]) / norm["white"][1],
                 "black": (st["black"] - norm["black"][0]) / norm["black"][1],
                 "spread": (norm["spread"][0] - st["spread"]) / norm["spread"][1]}
            worst = max(z, key=z.get)
            if z[worst] >= WINDOW_Z:
                why = {"white": f"{st['white']:.0%} pure white (its body part: {norm['white'][0]:.0%})",
                       "black": f"{st['black']:.0%} pure black (its body part: {norm['black'][0]:.0%})",
                       "spread": f"grey values spread {st['spread']:.2f} (its body part: {norm['spread'][0]:.2f})"}
                out[image_id] = (round(z[worst], 1), why[worst])
    return out


def text_regions(pixels: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (y0, x0, y1, x1) of lines of small high-contrast strokes: burned-in annotations."""
    h, w = pixels.shape
    size = max(5, round(min(h, w) * 0.05))
    boxes: list[tuple[int, int, int, int]] = []
    for strokes in (pixels - ndimage.grey_opening(pixels, size=size),
                    ndimage.grey_closing(pixels, size=size) - pixels):
        labelled, count = ndimage.label(strokes > TEXT_CONTRAST)
        chars = []
        for n, where in enumerate(ndimage.find_objects(labelled), start=1):
            ys, xs = where
            height, width = ys.stop - ys.start, xs.stop - xs.start
            area = int((labelled[where] == n).sum())
            if 2 <= height <= size * 2 and 1 <= width <= size * 2 and area >= 3:
                chars.append((ys.start, xs.start, ys.stop, xs.stop))
        boxes += _lines(sorted(chars, key=lambda b: b[1]), size)
    return boxes


def _text_row(image_id: int, shape: tuple[int, ...], lines: list[tuple[int, int, int, int]], what: str) -> dict:
    h, w = shape[:2]
    where = "; ".join(f"rows {y0 / h:.2f}-{y1 / h:.2f}, columns {x0 / w:.2f}-{x1 / w:.2f}"
                      for y0, x0, y1, x1 in lines[:3])
    return {"image_id": image_id, "problem": "burned_in_text", "score": float(len(lines)), "stored": "",
            "suggested": "review", "reason": f"{what} at {where}"}


def _lines(chars: list[tuple[int, int, int, int]], size: int) -> list[tuple[int, int, int, int]]:
    """Characters chained left to right at one height, TEXT_MIN_CHARS or more: a text line."""
    used = [False] * len(chars)
    lines = []
    for i, first in enumerate(chars):
        if used[i]:
            continue
        line, last = [first], first
        for j in range(i + 1, len(chars)):
            c = chars[j]
            if used[j] or c[1] - last[3] > size:
                continue
            if abs((c[0] + c[2]) / 2 - (last[0] + last[2]) / 2) <= size / 2:
                line.append(c)
                used[j] = True
                last = c
        if len(line) >= TEXT_MIN_CHARS:
            used[i] = True
            lines.append((min(b[0] for b in line), min(b[1] for b in line),
                          max(b[2] for b in line), max(b[3] for b in line)))
    return lines


def pixel_outliers(store: LibraryStore, ids: list[int], body_parts: dict[int, str | None],
                   progress_bar: Callable = lambda x, **_: x) -> list[dict[str, Any]]:
    """Window and burned-in-text flags from each image's preview.

    Burned-in text is read with the OCR detector `radsearch deid` uses (imaging.burned_in) where
    Tesseract is installed, OCR_BATCH previews per Tesseract run; elsewhere the stroke heuristic
    `text_regions` stands in and says so in its reason.
    """
    rows = []
    stats: dict[int, dict[str, float]] = {}
    ocr = burned_in.available()
    waiting: list[tuple[int, np.ndarray]] = []

    def read_text(batch: list[tuple[int, np.ndarray]]) -> None:
        for (image_id, pixels), boxes in zip(batch, burned_in.find_text_many([p for _, p in batch], side=OCR_SIDE)):
            if boxes:
                rows.append(_text_row(image_id, pixels.shape, [(b.y0, b.x0, b.y1, b.x1) for b in boxes],
                                      "OCR read " + "; ".join(repr(b.text) for b in boxes[:3])))

    for image_id in progress_bar(ids, desc="outlier pixels", unit="img"):
        pixels = thumbnail_pixels(store, image_id)
        if pixels is None:
            continue
        stats[image_id] = window_stats(pixels)
        if ocr:
            waiting.append((image_id, pixels))
            if len(waiting) == OCR_BATCH:
                read_text(waiting)
                waiting = []
        else:
            lines = text_regions(pixels)
            if lines:
                rows.append(_text_row(image_id, pixels.shape, lines, "text-like strokes (no OCR installed)"))
    if waiting:
        read_text(waiting)
    for image_id, (score, why) in window_problems(stats, body_parts).items():
        rows.append({"image_id": image_id, "problem": "bad_window", "score": score, "stored": "",
                     "suggested": "re-window", "reason": why})
    return rows
