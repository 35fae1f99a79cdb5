"""Pure planning for the wan-vace back end: the model's native format, how a request's length
is cut into chained segments, which generated frame each output frame shows, and the prompt
and reference images the model is given. No torch here, so all of it is tested directly."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from troupe.render.backend import CastMember

# Named resolutions, landscape; portrait requests swap them.
RESOLUTIONS = {"480p": (832, 480), "720p": (1280, 720)}
# VAE downsampling (8) times the transformer's patch (2): sides are multiples of this.
SIDE_MULTIPLE = 16
# The VAE compresses time by 4 and keeps the first frame: clip lengths are 4k + 1.
TIME_STRIDE = 4
_MENTION = re.compile(r"@([A-Za-z0-9_.]+)")


@dataclass(frozen=True)
class NativeFormat:
    """What one call of the model makes: `frames` frames of width x height (landscape) at fps."""

    width: int
    height: int
    frames: int
    fps: int

    def __post_init__(self) -> None:
        if self.width % SIDE_MULTIPLE or self.height % SIDE_MULTIPLE:
            raise ValueError(f"the native size must be a multiple of {SIDE_MULTIPLE} each way")
        if self.frames < 5 or self.frames % TIME_STRIDE != 1:
            raise ValueError(f"frames per clip must be 4k + 1 and at least 5, got {self.frames}")
        if self.fps <= 0:
            raise ValueError("fps must be positive")

    def oriented(self, width: int, height: int) -> tuple[int, int]:
        """The native size in the request's orientation."""
        long, short = max(self.width, self.height), min(self.width, self.height)
        return (long, short) if width >= height else (short, long)

    @property
    def context_frames(self) -> int:
        """Frames a segment carries over from the one before: a few latent steps' worth, so
        motion continues, and a whole number of them (4k + 1)."""
        return TIME_STRIDE * max(1, (self.frames - 1) // 32) + 1


def parse_resolution(text: str) -> tuple[int, int]:
    """`480p`, `720p` or `WxH` (multiples of 16) as a landscape (width, height)."""
    text = text.strip().lower()
    if text in RESOLUTIONS:
        return RESOLUTIONS[text]
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match:
        raise ValueError(f"resolution must be auto, 480p, 720p or WxH, got {text!r}")
    width, height = int(match[1]), int(match[2])
    return max(width, height), min(width, height)


@dataclass(frozen=True)
class SegmentPlan:
    """How many model calls a render takes and how many frames the timeline needs."""

    segments: int
    timeline_frames: int  # generated frames, in order, that the output is resampled from
    new_per_segment: tuple[int, ...]  # frames each segment adds to the timeline


def plan_segments(fmt: NativeFormat, seconds: int, out_fps: int, continues: bool) -> SegmentPlan:
    """Cut `seconds` of output into model calls. Each call after the first (and the first too
    when the render `continues` a video) starts from the last `context_frames` frames before
    it, so it adds only the rest."""
    needed = source_index(seconds * out_fps - 1, out_fps, fmt.fps) + 1
    fresh = fmt.frames - fmt.context_frames
    first = fresh if continues else fmt.frames
    segments = 1 + math.ceil(max(0, needed - first) / fresh)
    adds = (first,) + (fresh,) * (segments - 1)
    return SegmentPlan(segments=segments, timeline_frames=needed, new_per_segment=adds)


def source_index(out_index: int, out_fps: int, native_fps: int) -> int:
    """The generated frame nearest in time to output frame `out_index`."""
    return math.floor(out_index * native_fps / out_fps + 0.5)


def cover(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """`frame` scaled to cover width x height, then cropped to it about its centre."""
    h, w = frame.shape[:2]
    scale = max(width / w, height / h)
    size = (max(width, round(w * scale)), max(height, round(h * scale)))
    shrinking = scale < 1
    scaled = cv2.resize(frame, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    top, left = (size[1] - height) // 2, (size[0] - width) // 2
    return np.ascontiguousarray(scaled[top : top + height, left : left + width])


def on_white(rgba: np.ndarray) -> np.ndarray:
    """A cut-out (RGBA) over white, cropped to its subject: the model's reference images are
    subjects on white, and it pads them with white itself."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    rows, cols = np.nonzero(rgba[..., 3] > 0)
    if rows.size:
        rgb = rgb[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def name_mentions(prompt: str, cast: Sequence[CastMember]) -> str:
    """The prompt with each `@username` or `@id` of the cast replaced by that character's name,
    which is what a text encoder understands; other mentions lose only their `@`."""
    names: dict[str, str] = {}
    for member in cast:
        name = member.display_name.strip() or member.username.replace("_", " ").strip()
        for handle in (member.username, member.id):
            if handle:
                names[handle.lower()] = name or handle

    def replace(match: re.Match[str]) -> str:
        handle = match[1].rstrip(".")
        trailing = match[1][len(handle) :]
        return names.get(handle.lower(), handle) + trailing

    return _MENTION.sub(replace, prompt)
