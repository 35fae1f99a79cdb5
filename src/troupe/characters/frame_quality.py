"""Per-frame quality scores used to pick character frames: sharpness, exposure, subject size,
completeness and motion blur. Pure functions, images measured at fixed sizes so scores compare."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Sharpness is measured at a fixed long side so a 4K and a 480p copy of one shot score alike.
SHARPNESS_SIDE = 400
# Laplacian variance (grey 0..255 at SHARPNESS_SIDE) that maps to sharpness 1 - 1/e.
SHARPNESS_SCALE = 120.0
EXPOSURE_SIDE = 160
# Frame widths per second at which a subject's motion blur halves a frame's score: at 24 fps with
# a 1/50 s shutter that is a smear of about 1% of the width.
SMEAR_SPEED = 0.5
EDGE_PENALTY = 0.5

DARK_LEVEL = 16  # luminance at or below this counts as crushed black
BRIGHT_LEVEL = 250  # at or above this counts as clipped white
TOO_DARK_MEAN = 28.0
TOO_BRIGHT_MEAN = 238.0
TOO_BRIGHT_CLIPPED = 0.9


@dataclass(frozen=True)
class Exposure:
    """Luminance statistics of a frame; `problem` is "dark", "overexposed" or None."""

    mean: float
    dark_fraction: float
    bright_fraction: float
    score: float
    problem: str | None


def resize_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """Shrink so the longer side is at most `long_side`; never enlarges.

    Exact halvings with INTER_AREA (OpenCV's fast path) then one bilinear step: a non-integer
    INTER_AREA resize costs ten times more and this runs on every frame.
    """
    while max(image.shape[:2]) >= 2 * long_side:
        h, w = image.shape[:2]
        image = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def grey(image: np.ndarray, long_side: int) -> np.ndarray:
    """Luminance as float32 0..255 at the given long side."""
    small = resize_long_side(image, long_side)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)


def sharpness(image: np.ndarray, box: tuple[int, int, int, int] | None = None) -> float:
    """Variance of the Laplacian mapped to 0..1, over the whole frame or an (x, y, w, h) box."""
    g = grey(image, SHARPNESS_SIDE)
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=1)
    if box is not None:
        scale = g.shape[1] / image.shape[1]
        x, y, w, h = (round(v * scale) for v in box)
        region = lap[y : y + max(h, 3), x : x + max(w, 3)]
        if region.size >= 9:
            lap = region
    return float(1.0 - np.exp(-float(lap.var()) / SHARPNESS_SCALE))


def exposure(image: np.ndarray) -> Exposure:
    """Mean luminance and clipped fractions folded into a 0..1 score (1 = well exposed)."""
    g = grey(image, EXPOSURE_SIDE)
    mean = float(g.mean())
    dark = float((g <= DARK_LEVEL).mean())
    bright = float((g >= BRIGHT_LEVEL).mean())
    problem = None
    if mean < TOO_DARK_MEAN:
        problem = "dark"
    elif mean > TOO_BRIGHT_MEAN or bright > TOO_BRIGHT_CLIPPED:
        problem = "overexposed"
    # Full marks for a mid-range mean; a dark or white backdrop alone is only a mild penalty.
    level = float(np.clip(min(mean - 15.0, 240.0 - mean) / 50.0, 0.0, 1.0))
    clipped = float(np.clip((dark + bright - 0.3) / 0.7, 0.0, 1.0))
    score = 0.0 if problem else level * (1.0 - 0.5 * clipped)
    return Exposure(mean, dark, bright, score, problem)


def subject_size_score(coverage: float) -> float:
    """Favour a subject big enough to show detail yet with room around it."""
    grow = min(1.0, 0.2 + coverage / 0.08)
    crowd = 1.0 if coverage <= 0.6 else max(0.3, 1.0 - (coverage - 0.6) * 2.0)
    return grow * crowd


def steadiness(speed: float) -> float:
    """1 for a subject still in the frame, halving at SMEAR_SPEED frame widths per second: the
    faster it crosses the frame (its own motion or the camera's), the more it smears."""
    return 1.0 / (1.0 + speed / SMEAR_SPEED)


def completeness_score(size_ratio: float, touches_edge: bool) -> float:
    """1 for a subject whole in the frame; less when part of it is hidden (its area below what
    its track expects: ratio < 1), when something merged into it (ratio > 1) or when the frame
    edge cuts it."""
    whole = min(size_ratio, 1.0 / max(size_ratio, 1e-6))
    return whole**2 * (EDGE_PENALTY if touches_edge else 1.0)
