"""Thumbnail and spritesheet of a finished render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.render.conftest import Render
from troupe.media.window import decode_window
from troupe.render.previews import (
    COLUMNS,
    ROWS,
    preview_frames,
    write_spritesheet,
    write_thumbnail,
)


def test_the_thumbnail_is_a_webp_of_the_frame_a_third_in(landscape: Render, tmp_path: Path) -> None:
    dest = tmp_path / "thumbnail.webp"
    write_thumbnail(*preview_frames(landscape.path), dest)
    with Image.open(dest) as image:
        assert (image.format, image.size) == ("WEBP", (1280, 720))
        thumbnail = np.asarray(image.convert("RGB"), np.float32)
    third = decode_window(landscape.path, 4 / 3, 4 / 3 + 0.05)[0].image.astype(np.float32)
    first = decode_window(landscape.path, 0.0, 0.05)[0].image.astype(np.float32)
    assert np.abs(thumbnail - third).mean() < np.abs(thumbnail - first).mean()
    assert np.abs(thumbnail - third).mean() < 6


def test_the_spritesheet_is_a_grid_of_evenly_spaced_frames(
    landscape: Render, tmp_path: Path
) -> None:
    dest = tmp_path / "spritesheet.jpg"
    sheet = write_spritesheet(preview_frames(landscape.path)[0], dest)
    assert (sheet.columns, sheet.rows, sheet.tile_width, sheet.tile_height) == (5, 5, 256, 144)
    assert len(sheet.times) == COLUMNS * ROWS
    gaps = np.diff(sheet.times)
    assert gaps.min() > 0 and sheet.times[-1] > 3.5
    with Image.open(dest) as image:
        assert (image.format, image.size) == ("JPEG", (5 * 256, 5 * 144))
        grid = np.asarray(image.convert("RGB"), np.float32)
    tiles = [
        grid[r * 144 : (r + 1) * 144, c * 256 : (c + 1) * 256] for r in range(5) for c in range(5)
    ]
    assert min(t.mean() for t in tiles) > 30  # every tile holds a frame
    assert np.abs(tiles[0] - tiles[-1]).mean() > 5  # and the frames move on
