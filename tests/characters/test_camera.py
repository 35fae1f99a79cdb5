"""Camera motion between frames: pans and zooms recovered, a tripod left exactly still, and a
subject's own motion not mistaken for the camera's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.characters.drawing import busy_background, camera_view, draw_sprite
from troupe.characters.camera import align_frames, scale_of

W, H = 192, 108


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)


def corner_error(found: np.ndarray, truth: np.ndarray) -> float:
    corners = np.array([[0, 0, 1], [W, 0, 1], [0, H, 1], [W, H, 1]], np.float64)
    return float(np.abs(corners @ found.T - corners @ truth.T)[:, :2].max())


def test_a_pan_with_a_slow_zoom_is_recovered() -> None:
    scene = busy_background(400, 260)
    views = [
        camera_view(scene, (150 + 6 * i, 120 + 1.5 * i), 1.0 + 0.02 * i, (W, H)) for i in range(9)
    ]
    maps = align_frames([grey(view) for view, _ in views])
    reference = np.linalg.inv(views[4][1])
    for found, (_, to_scene) in zip(maps, views, strict=True):
        assert corner_error(found, reference @ to_scene) < 0.6
    assert scale_of(maps[0]) == pytest.approx(1.08 / 1.0, abs=0.01)


def test_a_tripod_shot_is_exactly_still() -> None:
    scene = busy_background(W, H, seed=2)
    rng = np.random.default_rng(0)
    frames = [grey(scene + rng.normal(0, 3, scene.shape)) for _ in range(6)]
    assert all(np.array_equal(m, np.eye(3)) for m in align_frames(frames))


def test_a_subject_moving_over_a_bland_background_is_not_a_pan() -> None:
    ramp = np.broadcast_to(np.linspace(90, 170, W)[None, :, None], (H, W, 3)).copy()
    frames = []
    for i in range(6):
        image = ramp.copy()
        draw_sprite(image, 50 + 8 * i, 55, 25)
        frames.append(grey(image))
    assert all(np.allclose(m, np.eye(3)) for m in align_frames(frames))
