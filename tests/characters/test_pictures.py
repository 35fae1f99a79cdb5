"""A character's pictures: profile squares framed inside the source, soft mattes, cut-outs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from troupe.characters.pictures import (
    guided_filter,
    matte_on,
    rgba_cut_out,
    soft_alpha,
    square_around,
    square_picture,
)


def repeated_lines(picture: np.ndarray) -> float:
    """The share of rows and columns identical to their neighbour: edge-replication streaks."""
    rows = np.all(picture[1:] == picture[:-1], axis=(1, 2))
    columns = np.all(picture[:, 1:] == picture[:, :-1], axis=(0, 2))
    return float(max(rows.mean(), columns.mean()))


def textured(width: int, height: int) -> np.ndarray:
    """A frame with no two equal rows or columns."""
    return np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8)


def contains(square: tuple[int, int, int, int], box: tuple[int, int, int, int]) -> bool:
    x, y, side, _ = square
    bx, by, bw, bh = box
    return x <= bx and y <= by and bx + bw <= x + side and by + bh <= y + side


@pytest.mark.parametrize(
    "box",
    [
        (600, 100, 80, 120),  # right at the frame's right edge
        (0, 0, 100, 200),  # in the top-left corner
        (300, 250, 120, 110),  # on the bottom edge
        (20, 40, 300, 310),  # as tall as the frame allows with its margin
    ],
)
def test_a_profile_square_stays_inside_the_frame_and_holds_the_subject(
    box: tuple[int, int, int, int],
) -> None:
    square = square_around((680, 360), box, 1.4)
    x, y, side, _ = square
    assert min(x, y) >= 0 and x + side <= 680 and y + side <= 360
    assert contains(square, box)
    picture = square_picture(textured(680, 360), square)
    assert picture.shape == (side, side, 3) and repeated_lines(picture) < 0.02


def test_a_subject_wider_than_the_frame_is_tall_gets_a_blurred_backdrop_not_streaks() -> None:
    frame = textured(640, 360)
    box = (40, 20, 560, 330)
    square = square_around((640, 360), box, 1.4)
    assert contains(square, box) and square[2] == 560
    picture = square_picture(frame, square)
    assert picture.shape == (560, 560, 3)
    assert repeated_lines(picture) < 0.02
    x, y = square[:2]
    assert np.array_equal(picture[-y : -y + 360], frame[:, x : x + 560])
    # above and below the frame: the scene's colours, blurred smooth
    assert picture[: -y - 10].std(axis=(0, 1)).max() < 30


def test_a_fringe_the_mask_took_in_stays_as_faint_as_the_model_saw_it() -> None:
    image = np.full((200, 200, 3), 40, np.uint8)
    cv2.circle(image, (100, 100), 50, (220, 200, 60), -1)
    probability = np.zeros((200, 200), np.float32)
    cv2.circle(probability, (100, 100), 50, 1.0, -1)
    # a patch of background the model half-believed in, joined to the subject's mask
    probability[90:110, 150:160] = 0.3
    mask = probability > 0.2
    alpha = soft_alpha(image, probability, mask)
    assert alpha[100, 100] > 0.99 and alpha[5, 5] == 0.0
    assert alpha[92:108, 153:158].mean() < 0.4
    assert np.abs(alpha - probability).mean() < 0.02


def test_the_matte_keeps_holes_inside_the_subject_solid_and_nothing_far_from_it() -> None:
    image = np.full((120, 120, 3), 90, np.uint8)
    mask = np.zeros((120, 120), bool)
    mask[20:100, 30:90] = True
    probability = mask.astype(np.float32)
    probability[50:60, 50:60] = 0.1  # an eye the model was unsure of
    probability[5:15, 100:115] = 0.9  # something else salient, away from the subject
    alpha = soft_alpha(image, probability, mask)
    assert alpha[55, 55] > 0.95
    assert alpha[5:15, 100:115].max() == 0.0


def test_the_guided_filter_keeps_a_step_that_the_guide_shows() -> None:
    guide = np.zeros((40, 40), np.float32)
    guide[:, 20:] = 1.0
    source = guide.copy()
    filtered = guided_filter(guide, source, 4, 1e-3)
    assert np.abs(filtered - source).max() < 0.02


def test_a_cut_out_carries_no_colour_where_it_is_transparent() -> None:
    image = textured(100, 80)
    alpha = np.zeros((80, 100), np.float32)
    alpha[20:60, 30:70] = 1.0
    rgba = rgba_cut_out(image, alpha, (30, 20, 40, 40), 0.1)
    assert rgba.shape == (52, 52, 4)  # 10% of 40 px and 2 px more on each side
    clear = rgba[:, :, 3] == 0
    assert clear.any() and rgba[clear][:, :3].max() == 0
    assert np.array_equal(rgba[6:-6, 6:-6, :3], image[20:60, 30:70])


def test_a_matte_brought_to_a_larger_picture_has_that_pictures_edge() -> None:
    # A disc on a background, and a matte made at a quarter of its size: scaled up alone its
    # edge is a ramp four pixels wide; brought on, the larger picture's own edge sharpens it.
    big = np.full((400, 400, 3), (40, 120, 60), np.uint8)
    cv2.circle(big, (200, 200), 120, (230, 60, 40), -1)
    truth = cv2.cvtColor(big, cv2.COLOR_RGB2GRAY) != cv2.cvtColor(big, cv2.COLOR_RGB2GRAY)[0, 0]
    small = cv2.resize(truth.astype(np.float32), (100, 100), interpolation=cv2.INTER_AREA)
    alpha = matte_on(big, cv2.resize(small, (400, 400), interpolation=cv2.INTER_LINEAR), 400)
    inside = alpha > 0.5
    assert (inside & truth).sum() / (inside | truth).sum() > 0.98
    edge = (alpha > 0.05) & (alpha < 0.95)
    assert edge.sum() < 2 * 2 * np.pi * 120  # under two pixels wide around the disc
