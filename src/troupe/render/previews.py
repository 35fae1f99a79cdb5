"""The pictures shown around a finished video: a thumbnail and a spritesheet for scrubbing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from troupe.media.frames import evenly_spaced
from troupe.media.probe import probe
from troupe.media.window import decode_window, sample_frames

THUMBNAIL_MAX_SIDE = 1280
THUMBNAIL_AT = 1 / 3  # share of the duration: past any fade-in, before the action ends
TILE_SIDE = 256
COLUMNS = ROWS = 5
_MAX_PIXELS = 3840 * 2160
_QUALITY = 80


@dataclass(frozen=True)
class SpriteSheet:
    """How a spritesheet is laid out: tile i is at column i % columns, row i // columns, and
    shows the video at times[i] seconds."""

    columns: int
    rows: int
    tile_width: int
    tile_height: int
    times: tuple[float, ...]


def write_thumbnail(video: Path, dest: Path) -> None:
    """A WebP of the frame a third of the way in, at most THUMBNAIL_MAX_SIDE on its long side."""
    duration = probe(video, _MAX_PIXELS).duration
    start = duration * THUMBNAIL_AT
    frames = decode_window(video, start, start + 1.0, max_side=THUMBNAIL_MAX_SIDE)
    if not frames:  # a frame rate so low that no frame starts in that second
        frames = decode_window(video, 0.0, math.inf, max_side=THUMBNAIL_MAX_SIDE, fps=1.0)
    _save(Image.fromarray(frames[0].image), dest, "WEBP")


def write_spritesheet(video: Path, dest: Path) -> SpriteSheet:
    """A JPEG grid of COLUMNS x ROWS frames evenly spaced over the video, each TILE_SIDE on
    its long side; tiles past the video's last frame stay black."""
    duration = probe(video, _MAX_PIXELS).duration
    count = COLUMNS * ROWS
    sampled = sample_frames(video, fps=count / max(duration, 1e-3), max_side=TILE_SIDE)
    frames = evenly_spaced(sampled, count)
    if not frames:
        raise ValueError(f"{video.name} has no frames")
    tile_h, tile_w = frames[0].image.shape[:2]
    sheet = np.zeros((ROWS * tile_h, COLUMNS * tile_w, 3), np.uint8)
    for i, frame in enumerate(frames):
        row, column = divmod(i, COLUMNS)
        sheet[row * tile_h : (row + 1) * tile_h, column * tile_w : (column + 1) * tile_w] = (
            frame.image[:tile_h, :tile_w]
        )
    _save(Image.fromarray(sheet), dest, "JPEG")
    return SpriteSheet(COLUMNS, ROWS, tile_w, tile_h, tuple(f.time for f in frames))


def _save(image: Image.Image, dest: Path, kind: str) -> None:
    # write aside, then rename: readers never see half a picture
    partial = dest.with_name(dest.name + ".partial")
    try:
        image.save(partial, format=kind, quality=_QUALITY)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
