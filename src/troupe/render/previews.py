"""The pictures shown around a finished video: a thumbnail and a spritesheet for scrubbing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from troupe.media.frames import Frame, evenly_spaced
from troupe.media.probe import probe
from troupe.media.window import sample_frames

THUMBNAIL_MAX_SIDE = 1280
THUMBNAIL_AT = 1 / 3  # share of the duration: past any fade-in, before the action ends
TILE_SIDE = 256
COLUMNS = ROWS = 5
# Frames decoded per finished video: a multiple of 1 / THUMBNAIL_AT, so that a grid point falls
# exactly a third in, and more than the spritesheet's tiles and the scored frames.
PREVIEW_GRID = 30
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


def preview_frames(video: Path) -> tuple[list[Frame], float]:
    """The finished video's frames on a grid of PREVIEW_GRID over its duration, at most
    THUMBNAIL_MAX_SIDE on their long side, and the duration: one decode that the thumbnail,
    the spritesheet and the consistency scores all pick from."""
    duration = probe(video, _MAX_PIXELS).duration
    frames = sample_frames(video, PREVIEW_GRID / max(duration, 1e-3), THUMBNAIL_MAX_SIDE)
    if not frames:
        raise ValueError(f"{video.name} has no frames")
    return frames, duration


def write_thumbnail(frames: list[Frame], duration: float, dest: Path) -> None:
    """A WebP of the first frame a third of the way in (or the last before it, at a frame rate
    too low to have one there)."""
    at = duration * THUMBNAIL_AT
    chosen = next((f for f in frames if f.time >= at), frames[-1])
    _save(Image.fromarray(chosen.image), dest, "WEBP")


def write_spritesheet(frames: list[Frame], dest: Path) -> SpriteSheet:
    """A JPEG grid of COLUMNS x ROWS frames evenly spaced over the video, each TILE_SIDE on
    its long side; tiles past the video's last frame stay black."""
    chosen = evenly_spaced(frames, COLUMNS * ROWS)
    height, width = chosen[0].image.shape[:2]
    scale = TILE_SIDE / max(height, width)
    tile_w, tile_h = max(1, round(width * scale)), max(1, round(height * scale))
    sheet = np.zeros((ROWS * tile_h, COLUMNS * tile_w, 3), np.uint8)
    for i, frame in enumerate(chosen):
        row, column = divmod(i, COLUMNS)
        tile = cv2.resize(frame.image, (tile_w, tile_h), interpolation=cv2.INTER_AREA)
        sheet[row * tile_h : (row + 1) * tile_h, column * tile_w : (column + 1) * tile_w] = tile
    _save(Image.fromarray(sheet), dest, "JPEG")
    return SpriteSheet(COLUMNS, ROWS, tile_w, tile_h, tuple(f.time for f in chosen))


def _save(image: Image.Image, dest: Path, kind: str) -> None:
    # write aside, then rename: readers never see half a picture
    partial = dest.with_name(dest.name + ".partial")
    try:
        image.save(partial, format=kind, quality=_QUALITY)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
