"""Video extensions: two renders joined into one MP4 as long as both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.render.conftest import render
from tests.render.test_animatic import check_mp4
from troupe.media.encode import AUDIO_RATE, VideoSettings, read_audio, write_mp4
from troupe.media.window import decode_window
from troupe.render.backend import CastMember, RenderRequest
from troupe.render.stitch import stitch


def test_stitching_plays_one_then_the_other(
    drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    cast = (drawn_cast["bolt"],)
    first = render(RenderRequest("@bolt at the beach", cast, 4, 192, 108), tmp_path / "a.mp4")
    second = render(RenderRequest("@bolt in space", cast, 8, 192, 108), tmp_path / "b.mp4")
    joined = tmp_path / "joined.mp4"
    stitch(first.path, second.path, joined)
    check_mp4(joined, 192, 108, 12)
    for source, offset in ((first.path, 0.0), (second.path, 4.0)):
        ours = decode_window(joined, offset + 1.0, offset + 1.05)[0].image.astype(float)
        theirs = decode_window(source, 1.0, 1.05)[0].image.astype(float)
        assert np.abs(ours - theirs).mean() < 4
    audio = read_audio(joined)
    assert audio is not None and audio.shape[1] == pytest.approx(12 * AUDIO_RATE, abs=2048)


def test_write_mp4_fits_the_audio_to_the_video(tmp_path: Path) -> None:
    frames = [np.full((64, 96, 3), 40 * i, np.uint8) for i in range(6)]
    for samples in (1000, 3 * AUDIO_RATE):  # too short and too long for 6 frames
        dest = tmp_path / f"{samples}.mp4"
        audio = np.full((2, samples), 0.1, np.float32)
        assert write_mp4(dest, frames, audio, VideoSettings(96, 64)) == 6
        track = read_audio(dest)
        assert track is not None
        assert track.shape[1] == pytest.approx(6 / 24 * AUDIO_RATE, abs=1100)


def test_write_mp4_refuses_frames_of_another_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="frame 0"):
        write_mp4(
            tmp_path / "x.mp4", [np.zeros((10, 10, 3), np.uint8)], None, VideoSettings(96, 64)
        )
    with pytest.raises(ValueError, match="even"):
        VideoSettings(95, 64)
