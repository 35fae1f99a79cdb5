"""Subject finding on synthetic clips: a cartoon blob over a textured background."""

from __future__ import annotations

import cv2
import numpy as np

from tests.characters.drawing import Box, background, draw_sprite
from troupe.characters.subject import SubjectMask, locate_subjects, refine_subject

W, H = 640, 360


def busy_background(w: int, h: int, seed: int = 0) -> np.ndarray:
    """Strong blue-grey texture at several scales, for camera-shake tests."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3))
    for cell in (8, 32, 96):
        small = rng.normal(0, 1, (h // cell + 2, w // cell + 2))
        img += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[:, :, None] * 18
    return img + np.array([90, 110, 130])


def finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def clip(n: int = 16, moving: bool = True, ry: float = 58.0) -> tuple[list[np.ndarray], list[Box]]:
    bg, rng = background(), np.random.default_rng(1)
    images, boxes = [], []
    for i in range(n):
        img = bg.copy()
        cx = W * (0.3 + 0.4 * i / (n - 1)) if moving else W * 0.5
        boxes.append(draw_sprite(img, cx, H * 0.55, ry))
        images.append(finish(img, rng))
    return images, boxes


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def found(subjects: list[SubjectMask | None]) -> list[SubjectMask]:
    assert all(s is not None for s in subjects)
    return [s for s in subjects if s is not None]


def test_moving_subject_is_boxed_in_every_frame() -> None:
    images, boxes = clip(moving=True)
    subjects = found(locate_subjects(images))
    ious = [iou(s.box, b) for s, b in zip(subjects, boxes, strict=True)]
    assert min(ious) >= 0.8, ious
    assert all(not s.touches_edge for s in subjects)
    assert all(s.mask.shape == (H, W) and s.mask.dtype == bool for s in subjects)


def test_static_subject_is_found_by_saliency() -> None:
    images, boxes = clip(moving=False)
    subjects = found(locate_subjects(images))
    assert min(iou(s.box, b) for s, b in zip(subjects, boxes, strict=True)) >= 0.8


def test_coverage_matches_the_drawn_area() -> None:
    images, boxes = clip(n=8)
    subject = found(locate_subjects(images))[4]
    ellipse_area = np.pi * (boxes[4][2] / 2) * (boxes[4][3] / 2)
    assert abs(subject.coverage - ellipse_area / (W * H)) < 0.01


def test_empty_background_has_no_subject() -> None:
    bg, rng = background(seed=3), np.random.default_rng(2)
    assert locate_subjects([finish(bg, rng) for _ in range(12)]) == [None] * 12


def test_refinement_fills_the_eyes_and_fits_the_outline() -> None:
    images, boxes = clip(n=8)
    coarse = found(locate_subjects(images))[3]
    refined = refine_subject(images[3], coarse)
    x, y, w, h = boxes[3]
    yy, xx = np.mgrid[0:H, 0:W]
    truth = ((xx - (x + w / 2)) / (w / 2)) ** 2 + ((yy - (y + h / 2)) / (h / 2)) ** 2 <= 1.0
    mask_iou = (refined.mask & truth).sum() / (refined.mask | truth).sum()
    assert mask_iou > 0.9
    eye = (y + round(h * 0.2), x + round(w * 0.325))
    assert refined.mask[eye]
    assert iou(refined.box, boxes[3]) >= 0.9


def test_subject_cut_by_the_frame_edge_is_flagged() -> None:
    bg, rng = background(), np.random.default_rng(4)
    images = []
    for i in range(10):
        img = bg.copy()
        draw_sprite(img, 20 + 4 * i, H * 0.5, 70)
        images.append(finish(img, rng))
    subjects = found(locate_subjects(images))
    assert all(s.touches_edge and s.box[0] == 0 for s in subjects)


def test_hand_held_camera_over_busy_background() -> None:
    scene, rng = busy_background(W + 40, H + 40), np.random.default_rng(5)
    images, boxes = [], []
    for i in range(16):
        img = scene.copy()
        x, y, w, h = draw_sprite(img, 200 + 8 * i, 200, 60)
        dx, dy = (int(v) for v in rng.integers(0, 40, 2))
        images.append(finish(img[dy : dy + H, dx : dx + W], rng))
        boxes.append((x - dx, y - dy, w, h))
    subjects = found(locate_subjects(images))
    assert min(iou(s.box, b) for s, b in zip(subjects, boxes, strict=True)) >= 0.7
