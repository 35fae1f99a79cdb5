"""A character's own motion as a seamless loop: sequences drawn here (a pulsing disc, a figure
walking across a following camera) are aligned on their feet, looped and played."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from troupe.render.animatic.loop import (
    MotionLoop,
    align_to_ground,
    best_loop,
    seam_cost,
    seamless_loop,
)

FPS = 12
MIN_FRAMES = 6
BLEND_FRAMES = 3


def alpha_feet(frame: np.ndarray) -> tuple[float, float]:
    """The bottom centre of the alpha: below its lowest row, midway across its lowest rows."""
    ys, _ = np.nonzero(frame[:, :, 3] > 127)
    bottom = int(ys.max())
    _, xs = np.nonzero(frame[bottom - 2 : bottom + 1, :, 3] > 127)
    return (xs.min() + xs.max() + 1) / 2, bottom + 1.0


def cropped(
    frame: np.ndarray, rng: np.random.Generator, margin: int = 0
) -> tuple[np.ndarray, tuple[float, float]]:
    """The frame cropped around its subject with up to `margin` spare pixels on each side (a
    cropper's own choice), and the subject's feet in the crop."""
    ys, xs = np.nonzero(frame[:, :, 3])
    top, left = (max(0, int(v.min()) - int(rng.integers(0, margin + 1))) for v in (ys, xs))
    bottom, right = (int(v.max()) + 1 + int(rng.integers(0, margin + 1)) for v in (ys, xs))
    crop = np.ascontiguousarray(frame[top:bottom, left:right])
    return crop, alpha_feet(crop)


def pulsing_disc(period: float, count: int, seed: int = 0) -> list[np.ndarray]:
    """A disc sitting on the ground whose radius follows a sine, a little jittered, in noisy
    colour; cropped tight, so the frames differ in size."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):
        radius = 40 + 20 * math.sin(2 * math.pi * i / period) + rng.normal(0, 0.3)
        frame = np.zeros((140, 140, 4), np.uint8)
        centre = (70 * 16, round((138 - radius) * 16))
        cv2.circle(frame, centre, round(radius * 16), (220, 120, 60, 255), -1, cv2.LINE_AA, 4)
        noise = rng.integers(-12, 13, frame[:, :, :3].shape)
        frame[:, :, :3] = np.clip(frame[:, :, :3] + noise, 0, 255) * (frame[:, :, 3:] > 0)
        frames.append(cropped(frame, rng)[0])
    return frames


def walker(
    period: float, count: int, seed: int = 0
) -> tuple[list[np.ndarray], list[tuple[float, float]]]:
    """A figure walking right, legs swinging, framed by a camera that follows it loosely: the
    crops' margins differ, so its feet drift inside them."""
    rng = np.random.default_rng(seed)
    frames, feet = [], []
    for i in range(count):
        swing = 0.45 * math.sin(2 * math.pi * i / period)
        x, ground = 60 + 7 * i, 230
        frame = np.zeros((260, 360 + 7 * count, 4), np.uint8)
        for angle, colour in ((swing, (40, 60, 200, 255)), (-swing, (20, 30, 110, 255))):
            foot = (round(x + 70 * math.sin(angle)), round(ground - 70 + 70 * math.cos(angle)))
            cv2.line(frame, (x, ground - 70), foot, colour, 9, cv2.LINE_AA)
        cv2.ellipse(frame, (x, ground - 110), (22, 45), 0, 0, 360, (200, 60, 40, 255), -1)
        cv2.circle(frame, (x, ground - 170), 16, (240, 200, 160, 255), -1, cv2.LINE_AA)
        crop, crop_feet = cropped(frame, rng, margin=25)
        frames.append(crop)
        feet.append(crop_feet)
    return frames, feet


def bottom_aligned(frames: list[np.ndarray]) -> list[np.ndarray]:
    return align_to_ground(frames, [(f.shape[1] / 2, f.shape[0]) for f in frames])


def test_align_puts_every_frames_feet_at_the_canvas_bottom_centre() -> None:
    frames, feet = walker(period=10, count=24)
    assert len({f.shape for f in frames}) > 1
    aligned = align_to_ground(frames, feet)
    height, width = aligned[0].shape[:2]
    assert all(f.shape == (height, width, 4) for f in aligned)
    for frame in aligned:
        x, y = alpha_feet(frame)
        assert y == height
        assert x == pytest.approx(width / 2, abs=0.5)
    # The walk and the camera's drift are gone: one stride later the figure is where it was.
    assert all(np.array_equal(aligned[i], aligned[i + 10]) for i in range(14))


def test_align_keeps_every_frame_whole_and_drops_only_rows_below_the_feet() -> None:
    frame = np.full((10, 6, 4), 255, np.uint8)
    tall, wide = align_to_ground([frame, frame[:8]], [(1.0, 8.0), (3.0, 8.0)])
    assert tall.shape == (8, 10, 4)  # feet at x = 5: five columns either side of the feet
    assert tall[:, :, 3].sum() == 8 * 6 * 255  # its two rows below the feet are gone
    assert np.array_equal(tall[:, 4:], wide[:, 2:8])
    assert wide[:, :2, 3].max() == 0


def test_best_loop_is_one_period_of_a_periodic_motion_not_the_whole_sequence() -> None:
    frames = bottom_aligned(pulsing_disc(period=20, count=26))
    start, end = best_loop(frames, MIN_FRAMES)
    assert abs((end - start + 1) - 20) <= 1
    assert seam_cost(frames[start : end + 1]) < 1.5
    assert seam_cost(frames) > 2.5  # the whole sequence jumps: the measure sees it


def test_best_loop_does_not_reverse_a_motion_that_looks_alike_for_one_frame() -> None:
    # Nearly two periods: loops from a rise onto the look-alike fall up to 22 frames long
    # exist, and the mild preference for long loops would take one if frames stood alone.
    period = 12
    frames = bottom_aligned(pulsing_disc(period=period, count=23, seed=3))
    start, end = best_loop(frames, MIN_FRAMES)
    assert abs((end - start + 1) - period) <= 1


def test_seamless_loop_seam_is_no_bigger_than_an_ordinary_step() -> None:
    frames = bottom_aligned(pulsing_disc(period=17.5, count=26, seed=1))
    start, end = best_loop(frames, MIN_FRAMES)
    loop = seamless_loop(frames, start, end, BLEND_FRAMES)
    assert len(loop) == end - start + 1
    assert seam_cost(loop) <= 1.5


def test_a_walk_loops_in_place_once_its_drift_is_aligned_away() -> None:
    frames, feet = walker(period=10, count=30)
    loop = MotionLoop.from_sequence(frames, feet, FPS)
    assert loop is not None
    assert len(loop.frames) % 10 in (9, 0, 1)  # whole strides: one or two
    assert seam_cost(loop.frames) <= 1.5


def block(width: int, height: int) -> np.ndarray:
    """A hard-edged block standing at the bottom centre of a 120 x 120 frame."""
    frame = np.zeros((120, 120, 4), np.uint8)
    frame[120 - height :, 60 - width // 2 : 60 + width - width // 2] = (200, 60, 40, 255)
    return frame


def test_the_seam_blends_only_frames_that_look_alike() -> None:
    # A figure that stands for three frames, then lies pulsing: the best loop starts two frames
    # into the pulse, and a three-frame blend would reach back to the standing figure.
    standing = [block(20, 100)] * 3
    lying = [block(90 + 10 * (i % 6 in (1, 2, 3)) + 10 * (i % 6 == 2), 30) for i in range(21)]
    frames = standing + lying
    feet = [(60.0, 120.0)] * len(frames)
    loop = MotionLoop.from_sequence(frames, feet, FPS, blend_seconds=BLEND_FRAMES / FPS)
    assert loop is not None
    start, _ = best_loop(align_to_ground(frames, feet), MIN_FRAMES)
    assert start - BLEND_FRAMES < len(standing) <= start - 1  # the blend's reach, the seam's
    # A cross-fade with the standing figure would leave its half-transparent ghost.
    assert all(set(np.unique(frame[:, :, 3]).tolist()) <= {0, 255} for frame in loop.frames)


def test_motion_that_never_returns_has_no_loop() -> None:
    frames = []
    for i in range(13):  # an arm swinging one way from its foot, 12 degrees a frame
        frame = np.zeros((140, 260, 4), np.uint8)
        angle = math.radians(12 * i - 72)
        tip = (round(130 + 120 * math.sin(angle)), round(135 - 120 * math.cos(angle)))
        cv2.line(frame, (130, 135), tip, (40, 90, 220, 255), 16)
        frames.append(frame)
    assert MotionLoop.from_sequence(frames, [(130.0, 140.0)] * len(frames), FPS) is None


def test_blending_in_premultiplied_colour_leaves_no_halo() -> None:
    # Transparent pixels that hide white colour, as cut-outs often do.
    hidden = np.zeros((4, 4, 4), np.uint8)
    hidden[:, :, :3] = 255
    red = np.zeros((4, 4, 4), np.uint8)
    red[:, :, 0] = red[:, :, 3] = 255
    *_, last = seamless_loop([hidden, red, red, red], 1, 3, blend_frames=1)
    assert last[0, 0].tolist() == [255, 0, 0, 128]


def test_blending_stops_at_half_the_loop_and_at_the_sequence_start() -> None:
    frames = [np.full((2, 2, 4), 10 * i, np.uint8) for i in range(10)]
    loop = seamless_loop(frames, 2, 9, blend_frames=5)
    assert [int(f[0, 0, 3]) for f in loop[:-2]] == [20, 30, 40, 50, 60, 70]
    assert [int(f[0, 0, 3]) for f in loop[-2:]] == [53, 37]  # 2/3 of 80 and 0; 1/3 of 90, 2/3 of 10
    short = seamless_loop(frames, 5, 7, blend_frames=5)
    assert [int(f[0, 0, 3]) for f in short] == [50, 60, 55]


def test_a_sequence_shorter_than_a_loop_loops_whole() -> None:
    frames = bottom_aligned(pulsing_disc(period=20, count=5))
    assert best_loop(frames, MIN_FRAMES) == (0, 4)
    loop = MotionLoop.from_sequence(frames, [(f.shape[1] / 2, f.shape[0]) for f in frames], FPS)
    assert loop is not None and len(loop.frames) == 5


def test_a_single_frame_is_a_still() -> None:
    (frame,) = pulsing_disc(period=20, count=1)
    feet = [(frame.shape[1] / 2, frame.shape[0])]
    loop = MotionLoop.from_sequence([frame], feet, FPS)
    assert loop is not None
    assert loop.duration == pytest.approx(1 / FPS)
    (still,) = align_to_ground([frame], feet)
    assert all(np.array_equal(loop.frame_at(t), still) for t in (0.0, 0.5, 7.3, -2.0))
    assert seam_cost(loop.frames) == 0.0


def test_frame_at_wraps_around_and_is_a_deterministic_lookup() -> None:
    frames = [np.full((3, 2, 4), i, np.uint8) for i in range(8)]
    loop = MotionLoop(tuple(frames), fps=FPS)
    assert loop.duration == pytest.approx(8 / FPS)
    assert [int(loop.frame_at(k / FPS)[0, 0, 0]) for k in range(18)] == [*range(8)] * 2 + [0, 1]
    assert loop.frame_at(7 / 24 + 3 * loop.duration) is loop.frame_at(7 / 24)
    assert loop.frame_at(-1 / FPS) is frames[7]
    assert loop.frame_at(0.0, phase=3 / FPS) is frames[3]
    assert loop.frame_at(100 / 30) is loop.frame_at(100 / 30)


def test_prepared_frames_cannot_be_changed_through_frame_at() -> None:
    frames, feet = walker(period=10, count=12)
    loop = MotionLoop.from_sequence(frames, feet, FPS)
    assert loop is not None
    frame = loop.frame_at(0.0)
    with pytest.raises(ValueError):
        frame[0, 0, 0] = 1


def figure_with_arm(angle_degrees: float) -> np.ndarray:
    """A body with one raised arm at `angle_degrees` from vertical, on a transparent frame."""
    frame = np.zeros((160, 200, 4), np.uint8)
    cv2.rectangle(frame, (80, 70), (120, 159), (150, 150, 170, 255), -1)
    angle = math.radians(angle_degrees)
    tip = (round(100 + 70 * math.sin(angle)), round(75 - 70 * math.cos(angle)))
    cv2.line(frame, (100, 75), tip, (230, 230, 240, 255), 12)
    return frame


def test_a_limb_that_moved_across_the_seam_is_blended_in_one_place_not_two() -> None:
    # The loop's last frame is blended halfway into the frame before its first. The arm is 12
    # degrees apart in the two, its tips a whole arm's width apart: a plain cross-fade shows
    # two half-transparent arms, a ghost; moved along the motion, one arm, whole.
    frames = [figure_with_arm(-30.0), figure_with_arm(-24.0), figure_with_arm(-18.0)]
    *_, blended = seamless_loop(frames, 1, 2, blend_frames=1)
    arm = blended[:70, :, 3]  # above the body
    arm_area = np.count_nonzero(figure_with_arm(-24.0)[:70, :, 3] > 127)
    see_through = np.count_nonzero((arm > 40) & (arm < 215))
    assert see_through < 0.25 * arm_area
    assert np.count_nonzero(arm >= 215) > 0.7 * arm_area
