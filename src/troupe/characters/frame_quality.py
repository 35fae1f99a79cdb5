"""Per-frame quality scores used to pick character frames: sharpness, exposure, camera shake.
Pure functions over numpy images, measured at fixed sizes so scores compare across sources."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np

# Sharpness is measured at a fixed long side so a 4K and a 480p copy of one shot score alike.
SHARPNESS_SIDE = 400
# Laplacian variance (grey 0..255 at SHARPNESS_SIDE) that maps to sharpness 1 - 1/e.
SHARPNESS_SCALE = 120.0
EXPOSURE_SIDE = 160
SHIFT_SIDE = 160
# Sub-pixel shifts are noise; a real camera move must explain most of the frame difference.
MIN_SHIFT = 0.75
SHIFT_GAIN = 0.7

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


def translate(image: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """Move the image content by (dx, dy) pixels, replicating the border into the gap."""
    if shift == (0.0, 0.0):
        return image
    matrix = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
    size = (image.shape[1], image.shape[0])
    return cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REPLICATE)


def camera_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Global translation (dx, dy) of grey float32 image `b` relative to `a`, or zeros.

    Phase correlation also locks onto a contrasty subject moving over a plain background, so
    a shift is kept only if undoing it makes the whole of `b` match `a` clearly better.
    """
    window = cv2.createHanningWindow((a.shape[1], a.shape[0]), cv2.CV_32F)
    # Copies: OpenCV 5 applies the window to phaseCorrelate's inputs in place.
    (dx, dy), _ = cv2.phaseCorrelate(a.copy(), b.copy(), window)
    if np.hypot(dx, dy) < MIN_SHIFT:
        return 0.0, 0.0
    # Compared softened, or fine texture resampled at a sub-pixel offset would not match anyway.
    a_soft, b_soft = (cv2.GaussianBlur(im, (0, 0), 1.5) for im in (a, b))
    before = float(np.abs(b_soft - a_soft).mean())
    after = float(np.abs(translate(b_soft, (-dx, -dy)) - a_soft).mean())
    return (float(dx), float(dy)) if after < SHIFT_GAIN * before else (0.0, 0.0)


def shake(images: list[np.ndarray]) -> list[float]:
    """Per-frame camera motion as a fraction of frame width (mean of the shifts to its neighbours).

    Large frame-to-frame shifts mean motion blur and smeared detail even when the Laplacian,
    fooled by noise, still looks fine.
    """
    greys = [grey(im, SHIFT_SIDE) for im in images]
    if len(greys) < 2:
        return [0.0] * len(greys)
    width = greys[0].shape[1]
    steps = [float(np.hypot(*camera_shift(a, b))) / width for a, b in pairwise(greys)]
    padded = [steps[0], *steps, steps[-1]]
    return [(padded[i] + padded[i + 1]) / 2.0 for i in range(len(greys))]
