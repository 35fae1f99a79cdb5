"""A character's own motion as a seamless loop, a video texture (Schödl, Szeliski, Salesin,
Essa, "Video Textures", SIGGRAPH 2000): align the cut-out frames on their feet, pick the loop
whose seam shows least, cross-fade across it, and play it for as long as a video lasts.

Frames in and out are straight-alpha RGBA uint8; feet are (x, y) in a frame's own pixels, with
the bottom centre of a w x h frame at (w / 2, h), as `compose.place` reads a cut-out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Feet = tuple[float, float]

THUMBNAIL = 32  # frames are compared as THUMBNAIL x THUMBNAIL premultiplied RGBA
# Weights of a frame's neighbours (offsets -1, 0, +1) when two frames are compared: a loop
# then matches motion, not one pose, and does not jump from a rise to the look-alike fall.
DYNAMICS_WEIGHTS = (1.0, 2.0, 1.0)
# What a loop of no length would add to its seam cost, in ordinary steps (the median distance
# between consecutive frames); it falls linearly to 0 for the whole sequence, so of two near
# equal seams the longer loop wins, and it is too mild to buy a visible jump.
SHORT_LOOP_PENALTY = 0.25
MIN_LOOP_SECONDS = 0.5  # shorter loops read as a twitch
BLEND_SECONDS = 0.25
# Two silhouettes (alpha over half) that share less than this of their union show as two
# figures when cross-faded, a ghost. On the real-footage characters' loops the seam's pairs
# share 0.855-0.99 where the loop looks right, and 0.40-0.75 where it ghosts: a runner who
# turns, a penguin that falls over three frames before its loop starts.
ALIKE_IOU = 0.8
# Farnebäck's flow for a seam's morph: five pyramid levels follow a limb that moved tens of
# pixels between the frames blended.
FLOW_LEVELS = 5
# Times built as k / video_fps land a hair under a frame boundary; this keeps them on it.
_TIME_SLACK = 1e-6
_TINY = 1e-12


@dataclass(frozen=True, eq=False)
class MotionLoop:
    """A loop of straight RGBA frames on one canvas, feet at its bottom centre, played at `fps`
    forever. The frames are read-only: `frame_at` hands out the stored arrays."""

    frames: tuple[np.ndarray, ...]
    fps: float

    def __post_init__(self) -> None:
        if not self.frames or self.fps <= 0:
            raise ValueError("a motion loop needs at least one frame and a positive fps")

    @classmethod
    def from_sequence(
        cls,
        frames: Sequence[np.ndarray],
        feet: Sequence[Feet],
        fps: float,
        min_seconds: float = MIN_LOOP_SECONDS,
        blend_seconds: float = BLEND_SECONDS,
    ) -> MotionLoop | None:
        """Align the cut-outs on their feet, pick the best loop and blend its seam, as far as
        the frames blended look alike; None when the best loop's last frame does not look
        like the frame before its first, since every loop of the sequence would then show a
        ghost or a jump. (A sequence too short to choose from loops whole, unblended.)"""
        aligned = align_to_ground(frames, feet)
        start, end = best_loop(aligned, max(1, round(min_seconds * fps)))
        if start > 0 and not _alike(aligned[end], aligned[start - 1]):
            return None
        blend = alike_pairs(aligned, start, end, round(blend_seconds * fps))
        loop = seamless_loop(aligned, start, end, blend)
        return cls(tuple(_read_only(frame) for frame in loop), fps)

    @property
    def duration(self) -> float:
        """Seconds before the loop repeats."""
        return len(self.frames) / self.fps

    def index_at(self, t: float, phase: float = 0.0) -> int:
        """The frame shown at `t` seconds, `phase` seconds into the loop at t = 0."""
        return math.floor((t + phase) * self.fps + _TIME_SLACK) % len(self.frames)

    def frame_at(self, t: float, phase: float = 0.0) -> np.ndarray:
        """The frame shown at `t` seconds: a lookup, blended once in `from_sequence`."""
        return self.frames[self.index_at(t, phase)]


def align_to_ground(frames: Sequence[np.ndarray], feet: Sequence[Feet]) -> list[np.ndarray]:
    """Every frame padded into one canvas with its feet at the canvas's bottom centre, so the
    subject's drift across its source (a following camera, a walk) is gone. Feet land on the
    nearest whole pixel (within half a pixel): a sub-pixel shift would blur some frames and not
    others, and the renderer resamples the frames anyway. Rows below the feet are dropped."""
    _check_sequence(frames, feet)
    # Each frame's top-left corner with the feet at the origin.
    corners = [(-_nearest(x), -_nearest(y)) for x, y in feet]
    half_width = max(
        max(-left, left + frame.shape[1]) for frame, (left, _) in zip(frames, corners, strict=True)
    )
    height = max(1, max(-top for _, top in corners))
    return [
        _placed(frame, (half_width + left, height + top), (2 * half_width, height))
        for frame, (left, top) in zip(frames, corners, strict=True)
    ]


def best_loop(frames: Sequence[np.ndarray], min_frames: int) -> tuple[int, int]:
    """(start, end), end - start + 1 >= min_frames, such that going from frame `end` back to
    `start` shows least; the whole sequence where it has no more than `min_frames` frames.

    Jumping from `end` to `start` looks like the step from `start - 1` to `start` when frame
    `end` looks like frame `start - 1`, neighbours included; so start >= 1, which leaves
    `seamless_loop` a frame before the start to blend towards."""
    count, min_frames = len(frames), max(1, min_frames)
    if count <= min_frames:
        return 0, count - 1
    costs = _loop_costs(frames, min_frames)
    before_start, end = np.unravel_index(int(np.argmin(costs)), costs.shape)
    return int(before_start) + 1, int(end)


def seamless_loop(
    frames: Sequence[np.ndarray], start: int, end: int, blend_frames: int
) -> list[np.ndarray]:
    """Frames start..end of an aligned sequence, the last `blend_frames` cross-faded in
    premultiplied colour (no halo at the edges) into the frames just before `start`, so the
    last frame nearly is frame `start - 1` and `start` follows it as an ordinary step. Fewer
    are blended where the loop is shorter than 2 * blend_frames or fewer frames precede it."""
    if not 0 <= start <= end < len(frames):
        raise ValueError(f"no loop {start}..{end} in {len(frames)} frames")
    loop = list(frames[start : end + 1])
    blended = max(0, min(blend_frames, start, len(loop) // 2))
    for k in range(blended):  # k = 0 is the last frame, the one nearest the seam
        share = (blended - k) / (blended + 1)
        loop[-1 - k] = _mix(loop[-1 - k], frames[start - 1 - k], share)
    return loop


def alike_pairs(frames: Sequence[np.ndarray], start: int, end: int, most: int) -> int:
    """How many of the pairs that `seamless_loop` would cross-fade (frame end - k with frame
    start - 1 - k, k = 0, 1, ...) look alike, counted up to the first that does not or `most`.
    `best_loop` compares the seam's neighbours one frame deep; a blend reaches further."""
    count = 0
    while count < most and start - 1 - count >= 0:
        if not _alike(frames[end - count], frames[start - 1 - count]):
            break
        count += 1
    return count


def _alike(frame: np.ndarray, other: np.ndarray) -> bool:
    """Whether the two silhouettes cross-fade without a ghost (see ALIKE_IOU)."""
    mine, theirs = frame[:, :, 3] > 127, other[:, :, 3] > 127
    union = int(np.count_nonzero(mine | theirs))
    return union == 0 or int(np.count_nonzero(mine & theirs)) / union >= ALIKE_IOU


def seam_cost(loop: Sequence[np.ndarray]) -> float:
    """How different the loop's first frame is from its last (the step across the seam),
    in ordinary steps: the median difference between consecutive frames. About 1 is seamless;
    a still (one frame) has no seam and costs 0."""
    if len(loop) < 2:
        return 0.0
    thumbnails = _thumbnails(loop)
    steps = _rms(thumbnails[1:] - thumbnails[:-1])
    seam = _rms(thumbnails[:1] - thumbnails[-1:])[0]
    return float(seam / max(float(np.median(steps)), _TINY))


def _frame_distances(frames: Sequence[np.ndarray]) -> np.ndarray:
    """(N, N) root-mean-square differences of the frames' premultiplied thumbnails (0..1)."""
    thumbnails = _thumbnails(frames)
    squares = np.einsum("ij,ij->i", thumbnails, thumbnails)
    # einsum's own loop, not BLAS: a product this small takes a millisecond either way, but
    # BLAS's threads can stall it for tens of milliseconds on a busy machine.
    products = np.einsum("ik,jk->ij", thumbnails, thumbnails, optimize=False)
    squared = squares[:, None] + squares[None, :] - 2 * products
    return np.sqrt(np.maximum(squared, 0.0) / thumbnails.shape[1])


def _loop_costs(frames: Sequence[np.ndarray], min_frames: int) -> np.ndarray:
    """costs[p, q]: the loop p + 1..q's seam in ordinary steps plus the short-loop penalty;
    infinite where it is no loop or too short."""
    distances = _with_dynamics(_frame_distances(frames))
    count = len(frames)
    step = max(float(np.median(np.diagonal(distances, 1))), _TINY)
    before_start, end = np.indices(distances.shape)
    length = end - before_start
    costs = distances / step + SHORT_LOOP_PENALTY * (count - length) / count
    return np.where(length >= min_frames, costs, np.inf)


def _with_dynamics(distances: np.ndarray) -> np.ndarray:
    """Each pair's distance averaged with its neighbours' along the diagonal (i + k, j + k),
    weights renormalised where a neighbour falls off the sequence's ends."""
    total = np.zeros_like(distances)
    weight = np.zeros_like(distances)
    middle = len(DYNAMICS_WEIGHTS) // 2
    for index, share in enumerate(DYNAMICS_WEIGHTS):
        shifted, valid = _diagonal_neighbour(distances, index - middle)
        total += share * shifted
        weight += share * valid
    return total / weight


def _diagonal_neighbour(distances: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """distances[i + offset, j + offset] (0 where outside) and where it is inside."""
    count = len(distances)
    inside = (np.arange(count) + offset >= 0) & (np.arange(count) + offset < count)
    valid = (inside[:, None] & inside[None, :]).astype(distances.dtype)
    shifted = np.roll(distances, (-offset, -offset), axis=(0, 1))
    return shifted * valid, valid


def _thumbnails(frames: Sequence[np.ndarray]) -> np.ndarray:
    """(N, THUMBNAIL * THUMBNAIL * 4) premultiplied RGBA in 0..1: alpha carries the shape,
    premultiplied colour what is inside it, and hidden colour counts for nothing."""
    small = np.stack([_thumbnail(frame) for frame in frames])
    return small.reshape(len(frames), -1).astype(np.float64) / 255.0


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    """Padded with transparency to whole multiples of THUMBNAIL first: OpenCV averages whole
    blocks several times faster than fractional ones."""
    height, width = frame.shape[:2]
    padded = cv2.copyMakeBorder(
        frame, 0, -height % THUMBNAIL, 0, -width % THUMBNAIL, cv2.BORDER_CONSTANT, value=0
    )
    return cv2.resize(_premultiplied(padded), (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA)


def _premultiplied(frame: np.ndarray) -> np.ndarray:
    """Premultiplied uint8 RGBA, alpha kept (OpenCV's grey-to-RGBA sets the fourth gain to
    255), in OpenCV's rounding, saturating uint8 arithmetic."""
    return cv2.multiply(frame, _alpha_gains(frame), scale=1 / 255)


def _straight(premultiplied: np.ndarray) -> np.ndarray:
    """Back to straight colour; OpenCV's division leaves 0 where alpha is 0."""
    return cv2.divide(premultiplied, _alpha_gains(premultiplied), scale=255)


def _alpha_gains(frame: np.ndarray) -> np.ndarray:
    """(alpha, alpha, alpha, 255) per pixel."""
    return cv2.cvtColor(np.ascontiguousarray(frame[:, :, 3]), cv2.COLOR_GRAY2RGBA)


def _mix(frame: np.ndarray, other: np.ndarray, share: float) -> np.ndarray:
    """`share` of `other` over the rest of `frame`, in premultiplied colour, back to straight
    (premultiplied uint8 is what the compositor blends in anyway). Each is first moved that
    far towards the other along the optical flow between them (a morph, as Video Textures
    blends its seams): a part that moved, an arm raised higher in one, then meets itself in
    one place instead of showing twice, half transparent."""
    mine, theirs = _premultiplied(frame), _premultiplied(other)
    towards_theirs, towards_mine = _flows(mine, theirs)
    h, w = mine.shape[:2]
    grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mixed = cv2.addWeighted(
        _moved(mine, towards_theirs, share, grid),
        1 - share,
        _moved(theirs, towards_mine, 1 - share, grid),
        share,
        0,
    )
    return _straight(mixed)


def _flows(mine: np.ndarray, theirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense optical flow from each premultiplied frame to the other (Farnebäck's, on their
    premultiplied lightness, where a transparent background is black and so outlines count)."""
    a, b = (
        cv2.cvtColor(np.ascontiguousarray(f[:, :, :3]), cv2.COLOR_RGB2GRAY) for f in (mine, theirs)
    )
    return _flow(a, b), _flow(b, a)


def _flow(start: np.ndarray, finish: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32: where each pixel of `start` moves to in `finish`, as (dx, dy)."""
    flow = cv2.calcOpticalFlowFarneback(
        start,
        finish,
        np.empty(0, np.float32),  # no initial flow
        pyr_scale=0.5,
        levels=FLOW_LEVELS,
        winsize=15,
        iterations=3,
        poly_n=5,
        poly_sigma=1.2,
        flags=0,
    )
    return np.asarray(flow, np.float32)


def _moved(
    frame: np.ndarray, flow: np.ndarray, share: float, grid: Sequence[np.ndarray]
) -> np.ndarray:
    """`frame` moved `share` of the way along `flow` (each pixel's motion towards the other
    frame), sampled backwards from `grid` (each pixel's x and y): the flow where a pixel lands
    stands in for the flow where it came from, close enough for the small steps that frames
    alike enough to blend take."""
    if share <= 0.0:
        return frame
    xs, ys = grid
    return cv2.remap(
        frame,
        xs - share * flow[:, :, 0],
        ys - share * flow[:, :, 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )


def _placed(frame: np.ndarray, corner: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """`frame` on a transparent canvas of `size` (w, h) with its top-left at `corner`; rows
    past the canvas's bottom are left out."""
    (left, top), (width, height) = corner, size
    canvas = np.zeros((height, width, 4), np.uint8)
    shown = frame[: max(0, height - top)]
    canvas[top : top + shown.shape[0], left : left + frame.shape[1]] = shown
    return canvas


def _check_sequence(frames: Sequence[np.ndarray], feet: Sequence[Feet]) -> None:
    if len(frames) == 0 or len(frames) != len(feet):
        raise ValueError(f"{len(frames)} frames and {len(feet)} feet: need one each, at least 1")
    for frame in frames:
        if frame.ndim != 3 or frame.shape[2] != 4 or frame.dtype != np.uint8:
            raise ValueError(f"frames must be RGBA uint8, not {frame.dtype} {frame.shape}")


def _rms(differences: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(differences), axis=1))


def _nearest(value: float) -> int:
    """Round half up: Python's round would send halves alternately up and down."""
    return math.floor(value + 0.5)


def _read_only(frame: np.ndarray) -> np.ndarray:
    frame = np.ascontiguousarray(frame)
    frame.flags.writeable = False
    return frame
