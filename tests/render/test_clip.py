"""Uploaded clips as render material: vetted, remade at the output's size and rate, and drawn
behind the cast as an edit's plate."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.render.conftest import render
from tests.render.test_animatic import check_mp4
from troupe.errors import TroupeError
from troupe.media.encode import AUDIO_RATE, read_audio
from troupe.media.probe import probe
from troupe.media.synthetic import ClipSpec, make_mascot_clip, write_bytes_file
from troupe.media.window import decode_window
from troupe.render.backend import CastMember, RenderRequest
from troupe.render.clip import inspect_clip, prepare_clip

PIXELS = 3840 * 2160


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of the mascot at 320x180, 30 frames a second (not the render's 24)."""
    path = tmp_path_factory.mktemp("clip") / "mascot.mp4"
    make_mascot_clip(path, ClipSpec(seconds=3, width=320, height=180, fps=30))
    return path


def _frame(path: Path, t: float) -> np.ndarray:
    return decode_window(path, t, t + 0.05)[0].image.astype(np.float32)


def test_inspect_clip_reads_length_and_size_and_refuses_what_is_no_video(
    clip: Path, tmp_path: Path
) -> None:
    info = inspect_clip(clip, 15, PIXELS)
    assert (info.width, info.height) == (320, 180)
    assert info.duration == pytest.approx(3, abs=0.05)
    with pytest.raises(TroupeError) as too_long:
        inspect_clip(clip, 2, PIXELS)
    assert (too_long.value.code, too_long.value.param) == ("video_too_long", "video")
    notes = tmp_path / "notes.mp4"
    write_bytes_file(notes, "text")
    with pytest.raises(TroupeError) as not_video:
        inspect_clip(notes, 15, PIXELS)
    assert (not_video.value.code, not_video.value.param) == ("unsupported_media", "video")


def test_prepared_clip_keeps_its_length_on_the_output_grid(clip: Path, tmp_path: Path) -> None:
    dest = tmp_path / "head.mp4"
    prepare_clip(clip, dest, (192, 108), 24)
    check_mp4(dest, 192, 108, 3)
    audio = read_audio(dest)
    assert audio is not None and audio.shape[1] == pytest.approx(3 * AUDIO_RATE, abs=2048)
    # The same picture, only smaller.
    theirs = cv2.resize(_frame(clip, 1.5), (192, 108), interpolation=cv2.INTER_AREA)
    assert np.abs(_frame(dest, 1.5) - theirs).mean() < 6


def test_prepared_clip_covers_another_shape_and_holds_its_last_frame(
    clip: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "plate.mp4"
    prepare_clip(clip, dest, (108, 192), 24, seconds=4)
    check_mp4(dest, 108, 192, 4)
    # Portrait from landscape: the centre of the frame, scaled to the output's height.
    source = _frame(clip, 1.0)
    centre = source[:, 160 - 51 : 160 + 50]
    theirs = cv2.resize(centre, (108, 192), interpolation=cv2.INTER_CUBIC)
    assert np.abs(_frame(dest, 1.0) - theirs).mean() < 8
    # Past the clip's 3 s its last frame holds.
    assert np.abs(_frame(dest, 3.5) - _frame(dest, 3.9)).mean() < 1


def test_an_edit_draws_the_cast_over_the_plate(
    clip: Path, drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    plate = tmp_path / "plate.mp4"
    prepare_clip(clip, plate, (192, 108), 24, seconds=4)
    request = RenderRequest("@bolt jumps", (drawn_cast["bolt"],), 4, 192, 108, plate=plate)
    edit = render(request, tmp_path / "edit.mp4").path
    check_mp4(edit, 192, 108, 4)
    assert probe(edit, PIXELS).has_audio
    for t in (0.5, 2.0, 3.5):
        difference = np.abs(_frame(edit, t) - _frame(plate, t)).max(axis=2)
        # Most of the frame is the plate, as it moves; the cast covers the rest.
        assert np.median(difference) < 6
        assert (difference > 60).mean() > 0.01
    # The clip's tone, not a drawn place's ambience, is the sound under the cast.
    ours, theirs = read_audio(edit), read_audio(plate)
    assert ours is not None and theirs is not None
    assert np.corrcoef(ours[0, :AUDIO_RATE], theirs[0, :AUDIO_RATE])[0, 1] > 0.9
