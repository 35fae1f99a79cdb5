"""Drawing helpers for vision tests: backgrounds, a cartoon blob, and camera moves over a scene."""

from __future__ import annotations

import cv2
import numpy as np

SPRITE = (235, 120, 30)
Box = tuple[int, int, int, int]


def background(w: int = 640, h: int = 360, seed: int = 0) -> np.ndarray:
    """Colour gradient with faint, soft-edged blotches: texture, but nothing that stands out
    (a crisp disc is an object to a salient-object model, as it would be to a person)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h)[:, None, None]
    img = np.array([70, 110, 150]) * (1 - x) + np.array([150, 150, 110]) * x + 30 * y
    img = np.broadcast_to(img, (h, w, 3)).copy()
    for _ in range(12):
        disc = np.zeros((h, w), np.float32)
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        radius = int(rng.integers(h // 20, h // 6))
        cv2.circle(disc, centre, radius, 1.0, -1)
        soft = cv2.GaussianBlur(disc, (0, 0), radius / 2)
        img += soft[..., None] * rng.integers(-18, 18, 3)
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


def busy_background(w: int, h: int, seed: int = 0) -> np.ndarray:
    """Strong blue-grey texture at several scales: plenty of corners for camera tracking."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3))
    for cell in (8, 32, 96):
        small = rng.normal(0, 1, (h // cell + 2, w // cell + 2))
        img += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[:, :, None] * 18
    return img + np.array([90, 110, 130])


def camera_view(
    scene: np.ndarray, centre: tuple[float, float], zoom: float, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """What a camera of `size` (w, h) sees looking at `centre` of the scene, magnified by
    `zoom`, and the 3x3 map from its pixels to scene pixels."""
    w, h = size
    scale = 1.0 / zoom
    frame_to_scene = np.array(
        [[scale, 0, centre[0] - scale * w / 2], [0, scale, centre[1] - scale * h / 2], [0, 0, 1]]
    )
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    view = cv2.warpAffine(scene, frame_to_scene[:2], (w, h), flags=flags)
    return view, frame_to_scene
