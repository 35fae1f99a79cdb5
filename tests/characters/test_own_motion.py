"""A character's own motion: mattes carried by optical flow from the frames the model looked at
to every frame of the window, each frame cut out with its feet."""

from __future__ import annotations

import cv2
import numpy as np

from troupe.characters.own_motion import _carried_mattes, cut_out_strip
from troupe.media.frames import Frame

W, H = 320, 240


def figure(t: float) -> tuple[np.ndarray, np.ndarray]:
    """A textured scene with a figure walking right whose arm swings: (image, true mask)."""
    rng = np.random.default_rng(7)
    image = cv2.GaussianBlur(rng.integers(60, 200, (H, W, 3), dtype=np.uint8), (0, 0), 2)
    mask = np.zeros((H, W), np.uint8)
    x = round(120 + 40 * t)
    cv2.ellipse(mask, (x, 150), (22, 45), 0, 0, 360, 1, -1)
    cv2.circle(mask, (x, 92), 16, 1, -1)
    angle = np.radians(30 + 30 * np.sin(np.pi * t))
    hand = (round(x + 60 * np.cos(angle)), round(120 - 60 * np.sin(angle)))
    cv2.line(mask, (x, 120), hand, 1, 9)
    stripes = (np.arange(W)[None, :] - x) // 6 % 2 * 25  # texture moving with the figure
    body = np.dstack([230 + 0 * stripes, 200 + stripes, 40 + stripes]).astype(np.uint8)
    image = np.where(mask[..., None] > 0, np.broadcast_to(body, image.shape), image)
    return image, mask.astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_every_frame_is_cut_out_from_the_nearest_key_along_the_flow() -> None:
    times = [i / 12 for i in range(13)]
    scenes = [figure(t) for t in times]
    frames = [Frame(t, image) for t, (image, _) in zip(times, scenes, strict=True)]
    keys = [(frames[i], scenes[i][1].astype(np.float32)) for i in (0, 6, 12)]
    strip = cut_out_strip(frames, keys)
    assert [f.time for f in strip] == times
    for cut, (_, truth) in zip(strip, scenes, strict=True):
        # a cut-out carries no colour where it is transparent
        assert cut.rgba[cut.rgba[:, :, 3] == 0][:, :3].max() == 0
        assert iou(_trimmed(cut.rgba[:, :, 3] > 127), _trimmed(truth)) > 0.65
    # in the frame's own pixels, up to three frames (a quarter second) from a key
    carried = _carried_mattes(frames, keys)
    for entry, (_, truth) in zip(carried, scenes, strict=True):
        assert entry is not None and iou(entry[0] > 0.5, truth) > 0.8


def _trimmed(mask: np.ndarray, size: int = 200) -> np.ndarray:
    """The mask cut to its bounding box, in the top-left corner of a `size` square."""
    ys, xs = np.nonzero(mask)
    box = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    out = np.zeros((size, size), bool)
    out[: box.shape[0], : box.shape[1]] = box
    return out


def test_a_frame_where_the_subject_is_gone_is_left_out() -> None:
    image, mask = figure(0.0)
    empty = np.random.default_rng(7).integers(60, 200, (H, W, 3), dtype=np.uint8)
    empty = cv2.GaussianBlur(empty, (0, 0), 2)
    frames = [Frame(0.0, image), Frame(1 / 12, empty)]
    strip = cut_out_strip(frames, [(frames[0], mask.astype(np.float32))])
    assert [f.time for f in strip] == [0.0]
    feet_x, feet_y = strip[0].feet
    alpha = strip[0].rgba[:, :, 3]
    rows = np.flatnonzero(alpha.max(axis=1) >= 8)
    assert feet_y == rows[-1] + 1
    assert abs(feet_x - np.average(np.nonzero(alpha >= 8)[1])) < 5


def test_nothing_to_cut_out_without_frames_or_keys() -> None:
    image, mask = figure(0.0)
    assert cut_out_strip([], [(Frame(0.0, image), mask.astype(np.float32))]) == []
    assert cut_out_strip([Frame(0.0, image)], []) == []


def test_a_key_seen_off_the_strips_grid_is_moved_onto_its_nearest_frame() -> None:
    """The analysis decodes its frames on another grid: a key at 0.04 s, the figure a few
    pixels from where it is at 0 s and 1/12 s."""
    times = [i / 12 for i in range(4)]
    frames = [Frame(t, figure(t)[0]) for t in times]
    key_image, key_mask = figure(0.04)
    keys = [(Frame(0.04, key_image), key_mask.astype(np.float32))]
    assert [f.time for f in cut_out_strip(frames, keys)] == times
    carried = _carried_mattes(frames, keys)
    for entry, t in zip(carried, times, strict=True):
        # left where the key saw it, the matte would overlap the figure by 0.87 to 0.9
        assert entry is not None and iou(entry[0] > 0.5, figure(t)[1]) > 0.95


OCCLUDER = (20, 30, 110)


def test_no_matte_is_carried_to_where_the_models_mask_was_doubtful() -> None:
    """A figure standing still while a dark post passes in front of it; the model looked at
    frames 0, 6 and 12 and could not trust its mask in frame 6, which took in the post (as a
    passer-by's legs over a parked bicycle on real footage). The frames nearer frame 6 than to
    frames 0 and 12 are left out, so no cut-out holds the post."""
    times = [i / 12 for i in range(13)]
    image, mask = figure(0.0)
    frames = []
    for index, t in enumerate(times):
        scene = image.copy()
        if 4 <= index <= 8:  # over the figure's body, from its left edge to its right
            x = 56 + 10 * index
            scene[:, x : x + 30] = OCCLUDER
        frames.append(Frame(t, scene))
    keys = [(frames[i], mask.astype(np.float32)) for i in (0, 12)]
    strip = cut_out_strip(frames, keys, doubtful=[times[6]])
    assert [f.time for f in strip] == [t for i, t in enumerate(times) if not 4 <= i <= 8]
    assert not any(holds_occluder(cut.rgba) for cut in strip)
    # without the doubt, the post is carried in and cut out as part of the figure
    assert any(holds_occluder(cut.rgba) for cut in cut_out_strip(frames, keys))


def holds_occluder(rgba: np.ndarray) -> bool:
    opaque = rgba[rgba[:, :, 3] > 127][:, :3].astype(int)
    return bool((np.abs(opaque - OCCLUDER).max(axis=1) < 10).any())
