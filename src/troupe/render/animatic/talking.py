"""A character's mouth moving with its voice: where its voice plays, the mouth found on its
cut-out opens as far as the voice is loud at that moment.

The mouth is found on the cut-out itself, as a cartoon draws one: a dark mark enclosed by the
figure, near its middle line, wider than tall (round pupils are not), under two eyes level with
each other. It is looked for only on figures drawn or rendered in smooth colours: on fur, paint,
print and wood, dark marks were eyes, labels and feet. A figure where none is found keeps the
body's pulse alone. Precision matters more than finding every mouth: a wrong one would open an
eye or a label. The mouth opens by pulling what lies under its middle line downwards, so the
dark of the mouth grows taller and the chin below gives way, as in cut-out animation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from troupe.media.encode import AUDIO_RATE
from troupe.render.animatic.compose import Cutout
from troupe.render.audio import Window

# Only a figure drawn or rendered in smooth colours has its mouth looked for: at least FLAT of
# it, seen FLAT_HEIGHT pixels tall, changes less than FLAT_SLOPE (Sobel) between pixels. On
# the real-footage characters (bench/mouths_eval.py) the mouths found on fur, paint, print and
# wood (0.07-0.26) were eyes, labels and feet; those on smooth emoji people (0.48-0.59), and
# on the suite's mascot (0.86), were their mouths. The gate lies between.
FLAT = 0.35
FLAT_HEIGHT = 200
FLAT_SLOPE = 20.0
# Inside the figure: alpha from this on, with an outline this share of its height left out.
OPAQUE = 200
OUTLINE = 0.02
# A mark darker than this share of the figure's median brightness...
DARK = 0.55
# ...covering this share of the figure, at most this far from its middle line (of its width),
# no lower than this share of its height (feet and shadows are not mouths), and this much
# wider than tall (round pupils are not).
MOUTH_AREA = (0.001, 0.08)
OFF_CENTRE = 0.2
LOWEST = 0.85
WIDER = 1.3
# Above a mouth sit two eyes (marks under EYE_DARK of the median brightness, pupils or whole
# eyes): this far apart in mouth widths, level within LEVEL of their distance, the mouth under
# their middle within CENTRED of it, and as far below them as EYES_ABOVE of their distance.
EYE_DARK = 0.75
EYES_APART = (0.5, 4.0)
LEVEL = 0.35
CENTRED = 0.25
EYES_ABOVE = (0.3, 2.5)
# How far a wide open mouth's lower lip drops, in half widths of the mouth, and how far out
# its corners reach (in half widths), where the lip no longer drops.
OPENING = 0.6
CORNERS = 1.4
# Openings drawn per video: each level's picture is warped once and kept.
LEVELS = 6
# Loudness is read over this many seconds at a time, and counts from this share of the
# voice's loudest stretch (its 95th percentile) up.
STEP = 1 / 48
QUIET = 0.15


@dataclass(frozen=True)
class Mouth:
    """Where the mouth is on a cut-out: its centre and half sizes, in the cut-out's pixels."""

    x: float
    y: float
    half_width: float
    half_height: float


@dataclass(frozen=True)
class _Mark:
    """A mark enclosed by the figure: its centre, width, height and pixel count."""

    x: float
    y: float
    width: int
    height: int
    pixels: int


def find_mouth(rgba: np.ndarray) -> Mouth | None:
    """The mouth drawn on an RGBA cut-out (premultiplied or not), or None where none is."""
    height = rgba.shape[0]
    opaque = (rgba[:, :, 3] >= OPAQUE).astype(np.uint8)
    side = max(3, round(OUTLINE * height) | 1)
    inside = cv2.erode(opaque, np.ones((side, side), np.uint8)) > 0
    if inside.sum() < 100:
        return None
    if smooth_share(rgba) < FLAT:
        return None
    luma = cv2.cvtColor(np.ascontiguousarray(rgba[:, :, :3]), cv2.COLOR_RGB2GRAY).astype(float)
    usual = float(np.median(luma[inside]))
    xs = np.nonzero(inside.any(axis=0))[0]
    middle, span = (xs[0] + xs[-1]) / 2, xs[-1] - xs[0] + 1
    area = float(inside.sum())
    eyes = _marks(inside, luma < EYE_DARK * usual)
    found = [
        mark
        for mark in _marks(inside, luma < DARK * usual)
        if MOUTH_AREA[0] <= mark.pixels / area <= MOUTH_AREA[1]
        and abs(mark.x - middle) <= OFF_CENTRE * span
        and mark.y <= LOWEST * height
        and mark.width >= WIDER * mark.height
        and _under_eyes(mark, eyes)
    ]
    if not found:
        return None
    best = min(found, key=lambda mark: abs(mark.x - middle))
    return Mouth(best.x, best.y, best.width / 2, best.height / 2)


def smooth_share(rgba: np.ndarray) -> float:
    """The share of the figure, seen FLAT_HEIGHT pixels tall, where its brightness hardly
    changes from pixel to pixel."""
    height, width = rgba.shape[:2]
    scale = FLAT_HEIGHT / height
    size = (max(1, round(width * scale)), FLAT_HEIGHT)
    seen = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    inside = cv2.erode((seen[:, :, 3] >= OPAQUE).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if not inside.any():
        return 0.0
    luma = cv2.cvtColor(np.ascontiguousarray(seen[:, :, :3]), cv2.COLOR_RGB2GRAY)
    slope = np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1))
    return float((slope[inside] < FLAT_SLOPE).mean())


def _marks(inside: np.ndarray, dark: np.ndarray) -> list[_Mark]:
    """The dark marks that the figure encloses."""
    count, labels, stats, centres = cv2.connectedComponentsWithStats(
        (inside & dark).astype(np.uint8)
    )
    marks = []
    for i in range(1, count):
        x, y, w, h, pixels = (int(v) for v in stats[i])
        if x > 0 and y > 0 and _enclosed(labels == i, inside):
            marks.append(_Mark(float(centres[i][0]), float(centres[i][1]), w, h, pixels))
    return marks


def _enclosed(mark: np.ndarray, inside: np.ndarray) -> bool:
    """Whether the mark, grown by a pixel, still lies inside the figure."""
    grown = cv2.dilate(mark.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return bool(inside[grown].all())


def _under_eyes(mouth: _Mark, eyes: list[_Mark]) -> bool:
    """Whether two marks sit above the mouth, one either side of it and level with each other,
    as far apart as a face's eyes are for a mouth of its width, and the mouth under their
    middle: a dark eye, eyebrow, label or wing alone is not a mouth."""
    above = [eye for eye in eyes if eye.y < mouth.y]
    for left in (eye for eye in above if eye.x < mouth.x):
        for right in (eye for eye in above if eye.x > mouth.x):
            apart = right.x - left.x
            drop = mouth.y - (left.y + right.y) / 2
            if (
                EYES_APART[0] * mouth.width <= apart <= EYES_APART[1] * mouth.width
                and abs(left.y - right.y) <= LEVEL * apart
                and abs(mouth.x - (left.x + right.x) / 2) <= CENTRED * apart
                and EYES_ABOVE[0] * apart <= drop <= EYES_ABOVE[1] * apart
            ):
                return True
    return False


def open_mouth(rgba: np.ndarray, mouth: Mouth, amount: float) -> np.ndarray:
    """The cut-out with its mouth opened by `amount` (0 shut, as drawn; 1 wide open): the
    mouth's lower half is stretched downwards by up to OPENING of its half width, and the chin
    below it, down to twice that again, is squeezed to make room."""
    if amount <= 0:
        return rgba
    height, width = rgba.shape[:2]
    widest = OPENING * mouth.half_width
    lip = mouth.y + mouth.half_height  # the mouth's lower edge, as drawn
    bottom = lip + 2 * widest
    rx = CORNERS * mouth.half_width
    x0, x1 = max(0, int(mouth.x - rx)), min(width, int(np.ceil(mouth.x + rx)) + 1)
    y0, y1 = max(0, int(mouth.y)), min(height, int(np.ceil(bottom)) + 1)
    if x1 <= x0 or y1 <= y0:
        return rgba
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    # How far the lower lip drops at each column: most in the middle, none past the corners.
    drop = amount * widest * np.clip(1.0 - ((xs - mouth.x) / rx) ** 2, 0.0, 1.0)
    dropped = lip + drop
    inner = mouth.y + (ys - mouth.y) * (lip - mouth.y) / np.maximum(dropped - mouth.y, 1e-3)
    chin = lip + (ys - dropped) * (bottom - lip) / np.maximum(bottom - dropped, 1e-3)
    source = np.where(ys <= dropped, inner, chin).astype(np.float32)
    opened = rgba.copy()
    opened[y0:y1, x0:x1] = cv2.remap(
        rgba, xs, source, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return opened


def loudness(voice: np.ndarray, window: Window) -> Callable[[float], float]:
    """How loud the voice (stereo samples at AUDIO_RATE) is `t` seconds into the video, 0..1,
    where it plays from the window's start: 0 outside the window and in its quiet stretches."""
    step = round(STEP * AUDIO_RATE)
    start, end = window
    mono = voice[:, : round((end - start) * AUDIO_RATE)].mean(axis=0)
    count = len(mono) // step
    if count == 0:
        return lambda t: 0.0
    levels = np.sqrt((mono[: count * step].reshape(count, step) ** 2).mean(axis=1))
    loud = float(np.percentile(levels, 95))
    if loud <= 0:
        return lambda t: 0.0
    scaled = np.clip((levels / loud - QUIET) / (1.0 - QUIET), 0.0, 1.0)

    def at(t: float) -> float:
        index = int((t - start) / STEP)
        return float(scaled[index]) if start <= t < end and 0 <= index < count else 0.0

    return at


class Talking:
    """A character whose mouth moves with its voice: `Moves` for an actor drawn as its one
    cut-out, each opening warped once and kept."""

    shadow = 1.0

    def __init__(self, cutout: Cutout, mouth: Mouth, loud: Callable[[float], float]) -> None:
        self.cutout = cutout
        self.mouth = mouth
        self.loud = loud
        self._opened: dict[int, Cutout] = {0: cutout}

    def at(self, t: float) -> Cutout:
        level = round(self.loud(t) * LEVELS)
        if level not in self._opened:
            rgba = open_mouth(self.cutout.rgba, self.mouth, level / LEVELS)
            self._opened[level] = Cutout(rgba, self.cutout.height)
        return self._opened[level]
