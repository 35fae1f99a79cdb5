"""Drawing helpers for vision tests: a textured background and a cartoon blob."""

from __future__ import annotations

import cv2
import numpy as np

SPRITE = (235, 120, 30)
Box = tuple[int, int, int, int]


def background(w: int = 640, h: int = 360, seed: int = 0) -> np.ndarray:
    """Colour gradient with faint discs: texture, but nothing that stands out."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h)[:, None, None]
    img = np.array([70, 110, 150]) * (1 - x) + np.array([150, 150, 110]) * x + 30 * y
    img = np.broadcast_to(img, (h, w, 3)).copy()
    for _ in range(12):
        disc = np.zeros((h, w), np.uint8)
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(disc, centre, int(rng.integers(h // 20, h // 6)), 1, -1)
        img[disc > 0] += rng.integers(-18, 18, 3)
    return img


def draw_sprite(img: np.ndarray, cx: float, cy: float, ry: float) -> Box:
    """Cartoon blob (outlined ellipse with eyes); returns its ground-truth box."""
    rx = ry * 0.8
    centre, axes = (round(cx), round(cy)), (round(rx), round(ry))
    cv2.ellipse(img, centre, axes, 0, 0, 360, (120, 50, 10), -1, cv2.LINE_AA)
    inner = (round(rx * 0.93), round(ry * 0.95))
    cv2.ellipse(img, centre, inner, 0, 0, 360, SPRITE, -1, cv2.LINE_AA)
    for side in (-1, 1):
        eye = (round(cx + side * rx * 0.35), round(cy - ry * 0.3))
        cv2.circle(img, eye, round(rx * 0.18), (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(img, eye, round(rx * 0.08), (10, 10, 10), -1, cv2.LINE_AA)
    return centre[0] - axes[0], centre[1] - axes[1], 2 * axes[0] + 1, 2 * axes[1] + 1
