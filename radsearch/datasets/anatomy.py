"""Procedural anatomy: each function returns a density map (bright = dense) and where findings were drawn.

Conventions follow radiographs: in a PA/AP view the patient's left is on the image's right.
Regions are (y0, x0, y1, x1) boxes in fractions of the image, so tests and localisation
benchmarks know where each finding is.
"""

from __future__ import annotations

import numpy as np

from .drawing import arc, capsule, ellipse, smooth_noise

Region = tuple[float, float, float, float]

# Lung centres in a PA chest (image coordinates); "left" is the patient's left.
_LUNG_PA = {"right": (0.47, 0.31), "left": (0.47, 0.69)}
_LUNG_RADII = (0.29, 0.155)


def _box(cy: float, cx: float, ry: float, rx: float) -> Region:
    return (max(cy - ry, 0.0), max(cx - rx, 0.0), min(cy + ry, 1.0), min(cx + rx, 1.0))


def chest_pa(yy, xx, rng: np.random.Generator, findings: dict[str, dict]) -> tuple[np.ndarray, dict[str, Region]]:
    """Posteroanterior chest: thorax, lungs with markings, ribs, clavicles, heart, spine."""
    shape = yy.shape
    regions: dict[str, Region] = {}
    body = ellipse(yy, xx, 0.58, 0.5, 0.56, 0.45) + 0.6 * ellipse(yy, xx, 0.1, 0.5, 0.12, 0.48)
    density = 0.34 * np.clip(body, 0, 1)
    markings = 0.03 * smooth_noise(rng, shape, 2.0)
    lungs = {side: ellipse(yy, xx, cy, cx, *_LUNG_RADII) for side, (cy, cx) in _LUNG_PA.items()}
    for side, lung in lungs.items():
        local = markings
        if "pneumothorax" in findings and findings["pneumothorax"]["side"] == side:
            local, box = _pneumothorax_pa(yy, xx, side, findings["pneumothorax"], markings)
            regions["pneumothorax"] = box
        density = density - lung * (0.24 - local)
    density += 0.14 * np.clip(np.abs(xx - 0.5) < 0.045, 0, 1) * (yy > 0.12)  # spine / mediastinum
    for side, (_, cx) in _LUNG_PA.items():  # posterior ribs and clavicles
        sign = -1 if side == "right" else 1
        for k in range(8):
            density += 0.07 * arc(yy, xx, 0.22 + 0.065 * k, cx - sign * 0.06, 1.6, 0.17, 0.008)
        density += 0.12 * capsule(yy, xx, 0.15, 0.5 + sign * 0.05, 0.12, 0.5 + sign * 0.3, 0.014)
    normal_rx = rng.uniform(0.115, 0.135)  # drawn always, so a finding never shifts the random stream
    heart_rx = findings.get("cardiomegaly", {}).get("width", 0.0) or normal_rx
    heart = ellipse(yy, xx, 0.63, 0.54, 0.13, heart_rx, angle_deg=-12)
    density += 0.30 * heart
    if "cardiomegaly" in findings:
        regions["cardiomegaly"] = _box(0.63, 0.54, 0.14, heart_rx)
    density += 0.30 * np.clip(ellipse(yy, xx, 0.98, 0.31, 0.22, 0.2) + ellipse(yy, xx, 1.0, 0.69, 0.22, 0.2), 0, 1)
    _draw_lung_findings(yy, xx, rng, findings, density, lungs, _LUNG_PA, regions, view="PA")
    return density, regions


def _pneumothorax_pa(yy, xx, side, params, markings):
    """Apical-lateral air without lung markings, bounded by a thin visceral pleural line."""
    cy, cx = _LUNG_PA[side]
    ry, rx = _LUNG_RADII
    collapse = params["size"]  # fraction of the lung radius that is collapsed
    inner = ellipse(yy, xx, cy + collapse * ry * 0.5, cx + (-1 if side == "left" else 1) * collapse * rx * 0.3,
                    ry * (1 - collapse), rx * (1 - collapse))
    local = markings * inner - 0.13 * (1 - inner)  # hyperlucent, no markings outside the collapsed lung
    line = np.clip(ellipse(yy, xx, cy + collapse * ry * 0.5, cx + (-1 if side == "left" else 1) * collapse * rx * 0.3,
                           ry * (1 - collapse) + 0.009, rx * (1 - collapse) + 0.009) - inner, 0, 1)
    local = local + 0.16 * line  # the visceral pleural line
    return local, _box(cy - ry * collapse * 0.3, cx, ry * 0.8, rx)


def _draw_lung_findings(yy, xx, rng, findings, density, lungs, centres, regions, view: str) -> None:
    """Effusion, nodule and consolidation, drawn only inside the lung they are reported in."""
    ry, rx = _LUNG_RADII if view == "PA" else (0.3, 0.22)
    if "pleural_effusion" in findings:
        f = findings["pleural_effusion"]
        cy, cx = centres[f["side"]]
        lung = lungs[f["side"]]
        base = cy + ry
        level = base - f["depth"] - 0.25 * (xx - cx) ** 2 * (-1 if view == "PA" else 1)
        # meniscus: fluid climbs the lateral wall
        if view == "PA":
            lateral = (xx - cx) * (1 if f["side"] == "left" else -1)
            level = base - f["depth"] - 0.9 * np.clip(lateral, 0, None) ** 2 * 6
        fluid = lung * (1.0 / (1.0 + np.exp(np.clip(-(yy - level) / 0.01, -40, 40))))
        density += 0.32 * fluid
        regions["pleural_effusion"] = (base - f["depth"] - 0.08, cx - rx, min(base + 0.02, 1.0), cx + rx)
    if "nodule" in findings:
        f = findings["nodule"]
        cy, cx = centres[f["side"]]
        ny, nx = cy + f["dy"] * ry * 0.6, cx + f["dx"] * rx * 0.5
        density += 0.34 * ellipse(yy, xx, ny, nx, f["radius"], f["radius"], edge=0.006)
        regions["nodule"] = _box(ny, nx, f["radius"] * 1.5, f["radius"] * 1.5)
    if "consolidation" in findings:
        f = findings["consolidation"]
        cy, cx = centres[f["side"]]
        zy = cy + f["dy"] * ry * 0.5
        zone = ellipse(yy, xx, zy, cx, ry * 0.38, rx * 0.8, edge=0.05) * lungs[f["side"]]
        texture = np.random.default_rng(int(f.get("seed", 0)))  # own stream: the rest of the image is unchanged
        patches = np.clip(0.6 + 0.5 * smooth_noise(texture, yy.shape, 3.0), 0, 1)
        density += 0.28 * zone * patches
        regions["consolidation"] = _box(zy, cx, ry * 0.4, rx * 0.85)


def chest_lateral(yy, xx, rng: np.random.Generator, findings: dict[str, dict]) -> tuple[np.ndarray, dict[str, Region]]:
    """Lateral chest facing image-left: one lung field, anterior heart, posterior spine."""
    shape = yy.shape
    regions: dict[str, Region] = {}
    density = 0.36 * ellipse(yy, xx, 0.55, 0.5, 0.55, 0.36)
    markings = 0.03 * smooth_noise(rng, shape, 2.0)
    lung = ellipse(yy, xx, 0.46, 0.52, 0.3, 0.22)
    local = markings
    if "pneumothorax" in findings:
        inner = ellipse(yy, xx, 0.5, 0.52, 0.3 * (1 - findings["pneumothorax"]["size"]), 0.22)
        local = markings * inner - 0.13 * (1 - inner)
        regions["pneumothorax"] = (0.16, 0.3, 0.35, 0.74)
    density -= lung * (0.24 - local)
    for k in range(7):  # vertebral bodies, posterior
        density += 0.22 * ellipse(yy, xx, 0.2 + 0.1 * k, 0.8, 0.035, 0.05)
    width = findings.get("cardiomegaly", {}).get("width", 0.0)
    normal_r = rng.uniform(0.13, 0.15)
    heart_r = 0.15 + (width - 0.12) * 0.8 if width else normal_r
    density += 0.28 * ellipse(yy, xx, 0.62, 0.38, heart_r, heart_r * 0.95)
    if "cardiomegaly" in findings:
        regions["cardiomegaly"] = _box(0.62, 0.38, heart_r, heart_r)
    density += 0.3 * ellipse(yy, xx, 0.98, 0.52, 0.2, 0.3)
    centres = {"left": (0.46, 0.52), "right": (0.46, 0.52)}
    _draw_lung_findings(yy, xx, rng, findings, density, {"left": lung, "right": lung}, centres, regions, view="LAT")
    return density, regions


def hand(yy, xx, rng: np.random.Generator) -> np.ndarray:
    """PA hand, fingers up: radius/ulna, carpals, metacarpals and phalanges over soft tissue."""
    bones = np.zeros(yy.shape, dtype=np.float32)
    bones += capsule(yy, xx, 1.05, 0.42, 0.78, 0.44, 0.035) + capsule(yy, xx, 1.05, 0.6, 0.8, 0.58, 0.028)
    for i in range(8):
        bones += ellipse(yy, xx, 0.7 + 0.04 * (i // 4), 0.42 + 0.055 * (i % 4), 0.022, 0.024)
    spread = rng.uniform(0.9, 1.1)
    for f, (x0, length) in enumerate([(0.33, 0.22), (0.41, 0.33), (0.49, 0.36), (0.57, 0.33), (0.64, 0.26)]):
        angle = (f - 2) * 0.08 * spread if f else -0.55
        y, x = 0.66, x0
        for seg, frac in enumerate((0.38, 0.27, 0.2, 0.15) if f else (0.45, 0.3, 0.25)):
            seg_len = length * frac * 1.3
            y1, x1 = y - seg_len * np.cos(angle), x + seg_len * np.sin(angle)
            bones += capsule(yy, xx, y, x, y1, x1, 0.016 - 0.002 * seg)
            y, x = y1 - 0.008 * np.cos(angle), x1 + 0.008 * np.sin(angle)
    soft = np.clip(ellipse(yy, xx, 0.72, 0.5, 0.24, 0.2) + _dilate_like(bones), 0, 1)
    return 0.3 * soft + 0.42 * np.clip(bones, 0, 1)


def _dilate_like(bones: np.ndarray) -> np.ndarray:
    from scipy.ndimage import gaussian_filter
    return np.clip(gaussian_filter(bones, 4.0) * 3.0, 0, 1)


def knee(yy, xx, rng: np.random.Generator) -> np.ndarray:
    """AP knee: femoral shaft and condyles, tibial plateau and shaft, fibula, faint patella."""
    gap = rng.uniform(0.025, 0.04)
    bones = capsule(yy, xx, -0.1, 0.5, 0.38, 0.5, 0.09)
    bones += ellipse(yy, xx, 0.45, 0.41, 0.07, 0.09) + ellipse(yy, xx, 0.45, 0.59, 0.07, 0.09)
    top = 0.52 + gap
    bones += ellipse(yy, xx, top + 0.05, 0.5, 0.05, 0.2) + capsule(yy, xx, top + 0.05, 0.5, 1.1, 0.5, 0.08)
    bones += capsule(yy, xx, top + 0.08, 0.69, 1.1, 0.67, 0.025)
    soft = ellipse(yy, xx, 0.5, 0.5, 0.7, 0.3)
    return 0.28 * soft + 0.4 * np.clip(bones, 0, 1) + 0.1 * ellipse(yy, xx, 0.4, 0.5, 0.06, 0.06)


def pelvis(yy, xx, rng: np.random.Generator) -> np.ndarray:
    """AP pelvis: iliac wings, sacrum, femoral heads and necks, pubic rami, obturator foramina."""
    bones = ellipse(yy, xx, 0.3, 0.27, 0.2, 0.17, angle_deg=20) + ellipse(yy, xx, 0.3, 0.73, 0.2, 0.17, angle_deg=-20)
    bones += ellipse(yy, xx, 0.35, 0.5, 0.16, 0.09)  # sacrum
    for cx, sign in ((0.27, -1), (0.73, 1)):
        bones += ellipse(yy, xx, 0.6, cx, 0.065, 0.065)
        bones += capsule(yy, xx, 0.62, cx, 0.72, cx + sign * 0.08, 0.035)
        bones += capsule(yy, xx, 0.72, cx + sign * 0.08, 1.1, cx + sign * 0.1, 0.055)
        bones += capsule(yy, xx, 0.68, cx - sign * 0.05, 0.72, 0.5, 0.025)
        bones -= 0.8 * ellipse(yy, xx, 0.72, cx - sign * 0.1, 0.05, 0.045)  # obturator foramen
    soft = ellipse(yy, xx, 0.55, 0.5, 0.55, 0.5)
    return 0.3 * soft + 0.4 * np.clip(bones, 0, 1)
