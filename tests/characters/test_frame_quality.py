"""Frame quality scores: focus and exposure on synthetic pictures, and the subject's terms."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from troupe.characters.frame_quality import (
    completeness_score,
    exposure,
    resize_long_side,
    sharpness,
    steadiness,
    subject_size_score,
)


def textured(w: int = 640, h: int = 360, seed: int = 0) -> np.ndarray:
    """Shapes and fine noise: a scene with detail at every scale."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 120, np.uint8)
    for _ in range(60):
        colour = tuple(int(c) for c in rng.integers(30, 230, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(h // 40, h // 8))
        cv2.circle(img, (x, y), r, colour, -1)
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def test_blur_lowers_sharpness_monotonically() -> None:
    img = textured()
    scores = [sharpness(cv2.GaussianBlur(img, (0, 0), s) if s else img) for s in (0, 1, 3, 8)]
    assert scores[0] > 0.8
    assert scores == sorted(scores, reverse=True)
    assert scores[-1] < 0.05


def test_sharpness_is_comparable_across_sizes() -> None:
    big = textured(1280, 720)
    small = cv2.resize(big, (640, 360), interpolation=cv2.INTER_AREA)
    assert abs(sharpness(big) - sharpness(small)) < 0.15


def test_sharpness_of_a_box_sees_only_that_region() -> None:
    img = textured()
    img[:, 320:] = cv2.GaussianBlur(img, (0, 0), 6)[:, 320:]
    assert sharpness(img, (20, 20, 250, 300)) > 0.8
    assert sharpness(img, (380, 20, 250, 300)) < 0.1


@pytest.mark.parametrize(
    ("value", "problem"), [(0, "dark"), (10, "dark"), (255, "overexposed"), (245, "overexposed")]
)
def test_exposure_flags_unusable_frames(value: int, problem: str) -> None:
    result = exposure(np.full((360, 640, 3), value, np.uint8))
    assert result.problem == problem
    assert result.score == 0.0
    assert result.mean == pytest.approx(value, abs=1.0)


def test_exposure_prefers_mid_tones() -> None:
    good = exposure(textured())
    dim = exposure((textured() * 0.3).astype(np.uint8))
    assert good.problem is None and good.score > 0.9
    assert dim.problem is None
    assert 0.0 < dim.score < good.score


def test_exposure_counts_clipped_pixels() -> None:
    img = textured()
    img[:180] = 255
    result = exposure(img)
    assert result.bright_fraction == pytest.approx(0.5, abs=0.02)
    assert result.problem is None


def test_size_score_prefers_a_subject_with_room_around_it() -> None:
    tiny, small, good, crowded = (subject_size_score(c) for c in (0.002, 0.02, 0.2, 0.9))
    assert tiny < small < good == 1.0
    assert crowded < good


def test_a_subject_that_crosses_the_frame_fast_scores_lower() -> None:
    assert steadiness(0.0) == 1.0
    assert steadiness(0.5) == pytest.approx(0.5)
    assert steadiness(0.1) > steadiness(0.3) > steadiness(2.0)


def test_hidden_merged_and_cut_subjects_score_lower() -> None:
    assert completeness_score(1.0, touches_edge=False) == 1.0
    hidden, merged = completeness_score(0.6, False), completeness_score(1 / 0.6, False)
    assert hidden == pytest.approx(merged) == pytest.approx(0.36)
    assert completeness_score(1.0, touches_edge=True) == 0.5


def test_resize_long_side_never_enlarges() -> None:
    img = np.zeros((720, 1280, 3), np.uint8)
    assert resize_long_side(img, 400).shape == (225, 400, 3)
    assert resize_long_side(img, 2000) is img
