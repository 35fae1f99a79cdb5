"""How a character acts on screen beyond moving as one piece: its own motion from its source,
looped, for actions that stay in place; a posed body (its limbs bent as rigidly as possible)
for the others. Both are prepared once per video and give the cut-out to draw at each instant."""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from troupe.media.strip import read_strip
from troupe.render.animatic.compose import Cutout, prepare_cutout
from troupe.render.animatic.loop import MotionLoop
from troupe.render.animatic.motion import Motion, pose_at
from troupe.render.animatic.paint import Gain
from troupe.render.animatic.rig import CYCLES_PER_SECOND, Rig, build_rig, deform, draw, limb_pose

# Actions that keep a character in one place doing what it does: its own motion fits them.
IN_PLACE = frozenset({"idle", "sit"})
# How far the outline measure looks for the turn that best lays one figure on another.
MAX_TURN = 30.0
TURN_STEP = 2.0
# A strip this short is a still: no motion worth looping.
MIN_STRIP_FRAMES = 4
# Poses kept per character and video: two headings of a slow cycle at 24 fps, with room to spare.
MAX_POSES = 256
POSE_DIGITS = 9
# Rigs kept per process. A rig depends only on its cut-out's alpha at the size it is drawn, so
# a worker rendering a character again at that size (a series of videos of one mascot) fits it
# once: fitting a cast of two took 0.15-0.26 s of an 8 s render (bench/render.py, a cast's first
# render against the next). A rig of a figure a third of a 720p frame tall holds a few MB.
RIGS_KEPT = 8


@dataclass(frozen=True)
class Looped:
    """The loop's frames prepared for the video, shown in the loop's time, `phase` seconds in."""

    loop: MotionLoop
    prepared: tuple[Cutout, ...]
    phase: float

    def at(self, t: float) -> Cutout:
        return self.prepared[self.loop.index_at(t, self.phase)]


def own_motion(strip: Path, height: float, light: Gain, phase: float) -> Looped | None:
    """The character's own motion from its strip, looped without a seam and prepared for a
    slot `height` tall; None when the strip holds too little motion to loop, or motion no
    loop can close without a ghost (a character that turns around, say)."""
    frames = read_strip(strip)
    if len(frames) < MIN_STRIP_FRAMES:
        return None
    fps = 1.0 / float(np.median(np.diff([f.time for f in frames])))
    loop = MotionLoop.from_sequence([f.rgba for f in frames], [f.feet for f in frames], fps)
    if loop is None:
        return None
    prepared = tuple(prepare_cutout(frame, height, light) for frame in loop.frames)
    return Looped(loop, prepared, phase * loop.duration)


@dataclass(frozen=True)
class Posed:
    """A prepared cut-out on a rig, posed for its motion's action at each instant. An action
    repeats its cycle, so each pose is drawn once per video and kept (a walk at 24 fps draws
    24, however long the video): bending and drawing were two thirds of an acting frame."""

    cutout: Cutout
    rig: Rig
    motion: Motion
    drawn: dict[tuple[float, int], Cutout] = field(default_factory=dict, compare=False, repr=False)

    def at(self, t: float) -> Cutout:
        m = self.motion
        phase = CYCLES_PER_SECOND.get(m.action, 0.0) * t + m.phase
        # The same instant of the cycle, to well under a frame's step, whatever the float sums.
        key = (round(phase % 1.0, POSE_DIGITS), _heading(m, t))
        pose = self.drawn.get(key)
        if pose is None:
            if len(self.drawn) >= MAX_POSES:
                self.drawn.clear()
            pose = self.drawn[key] = self._pose(*key)
        return pose

    def _pose(self, phase: float, heading: int) -> Cutout:
        targets = limb_pose(self.rig, self.motion.action, phase, heading)
        image, offset = draw(self.cutout.rgba, self.rig, deform(self.rig, targets))
        height = self.motion.slot.height
        return Cutout(_feet_at_bottom_centre(image, offset, self.cutout.rgba.shape), height)


class RigCache:
    """The rigs of the last `kept` alphas fitted, shared by the process's render threads."""

    def __init__(self, kept: int) -> None:
        self._kept = kept
        self._lock = threading.Lock()
        self._rigs: OrderedDict[tuple[bytes, tuple[int, ...]], Rig | None] = OrderedDict()

    def rig(self, alpha: np.ndarray) -> Rig | None:
        """`build_rig(alpha)`, fitted once for equal alphas."""
        key = (
            hashlib.blake2b(np.ascontiguousarray(alpha).data, digest_size=16).digest(),
            alpha.shape,
        )
        with self._lock:
            if key in self._rigs:
                self._rigs.move_to_end(key)
                return self._rigs[key]
        rig = build_rig(alpha)  # outside the lock: another thread's character need not wait
        with self._lock:
            self._rigs[key] = rig
            while len(self._rigs) > self._kept:
                self._rigs.popitem(last=False)
        return rig

    def clear(self) -> None:
        with self._lock:
            self._rigs.clear()


RIGS = RigCache(RIGS_KEPT)


def posed_body(cutout: Cutout, motion: Motion) -> Posed | None:
    """The cut-out on a rig for `motion`; None for a figure with no limbs to move (a box, a
    ball), which keeps moving as one piece."""
    rig = RIGS.rig(cutout.rgba[:, :, 3])
    return Posed(cutout, rig, motion) if rig is not None else None


def _heading(motion: Motion, t: float) -> int:
    """+1 while the character travels right (or stands), -1 while it travels left: a walk's
    steps follow where it is going, which turns at each end of a back-and-forth."""
    step = 1 / 48
    moved = pose_at(motion, t + step).x - pose_at(motion, t - step).x
    return -1 if moved < 0 else 1


def _feet_at_bottom_centre(
    image: np.ndarray, offset: tuple[float, float], rest_shape: tuple[int, ...]
) -> np.ndarray:
    """The drawn image padded (or cropped below the feet) so that the rest cut-out's feet, its
    bottom centre, are again the image's bottom centre, as `compose.place` draws a cut-out."""
    rest_h, rest_w = rest_shape[:2]
    feet_x, feet_y = rest_w / 2 - offset[0], rest_h - offset[1]
    h, w = image.shape[:2]
    bottom = round(feet_y)
    image = image[: max(1, min(h, bottom))]
    below = max(0, bottom - h)
    half = max(feet_x, w - feet_x)
    left, right = round(half - feet_x), round(half - (w - feet_x))
    return cv2.copyMakeBorder(image, 0, below, left, right, cv2.BORDER_CONSTANT, value=0)


def outline_change(before: np.ndarray, after: np.ndarray) -> float:
    """How much a figure's outline changed beyond moving, turning and scaling as one piece:
    1 - IoU of two masks once the second is laid on the first by the best similarity transform
    (centroids and areas matched, the turn searched around its principal axes' and up to
    MAX_TURN either way). 0 for a rigid move; the measure of acting that
    `bench/acting_eval.py` and the tests report."""
    a, b = (_moments(mask) for mask in (before, after))
    if a is None or b is None:
        return 1.0 if (a is None) != (b is None) else 0.0
    first = before.astype(bool)
    axes = math.degrees(a.angle - b.angle)
    axes = (axes + 90.0) % 180.0 - 90.0  # an axis has no direction
    turns = {axes, *np.arange(-MAX_TURN, MAX_TURN + 1e-9, TURN_STEP).tolist()}
    best = max(_overlap(first, after, a, b, turn) for turn in turns)
    return 1.0 - best


def _overlap(first: np.ndarray, after: np.ndarray, a: _Shape, b: _Shape, turn: float) -> float:
    """IoU of `first` and `after` turned by `turn` degrees, scaled and moved onto it."""
    matrix = cv2.getRotationMatrix2D(b.centre, -turn, math.sqrt(a.area / b.area))
    matrix[:, 2] += np.subtract(a.centre, b.centre)
    h, w = first.shape[:2]
    laid = cv2.warpAffine(after.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST) > 0
    return float((first & laid).sum() / max(1, (first | laid).sum()))


@dataclass(frozen=True)
class _Shape:
    area: float
    centre: tuple[float, float]
    angle: float  # of the principal axis, radians, y down


def _moments(mask: np.ndarray) -> _Shape | None:
    m = cv2.moments(mask.astype(np.uint8), binaryImage=True)
    if m["m00"] <= 0:
        return None
    angle = 0.5 * math.atan2(2 * m["mu11"], m["mu20"] - m["mu02"])
    return _Shape(m["m00"], (m["m10"] / m["m00"], m["m01"] / m["m00"]), angle)
