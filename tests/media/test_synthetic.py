"""The synthetic clips: ground truth that matches the pixels, and the odd inputs for tests."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from troupe.media.synthetic import ClipSpec, make_mascot_clip, write_bytes_file
from troupe.media.window import decode_window

SPEC = ClipSpec(seconds=2.0, width=320, height=240, fps=24, keyframe_seconds=0.5)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("synthetic") / "mascot.mp4"
    return path, make_mascot_clip(path, SPEC)


def _sprite_mask(image: np.ndarray) -> np.ndarray:
    return np.abs(image.astype(int) - np.array(SPEC.sprite_color)).sum(axis=2) < 90


def test_truth_has_one_box_per_frame_inside_the_picture(clip: tuple[Path, list]) -> None:
    _, truth = clip
    assert [t for t, _ in truth] == pytest.approx([i / 24 for i in range(48)])
    for _, (x, y, w, h) in truth:
        assert x >= 0 and y >= 0 and x + w <= SPEC.width and y + h <= SPEC.height
        assert 0.25 * SPEC.height <= h <= 0.4 * SPEC.height
    assert truth[0][1] != truth[24][1]  # the mascot moves


def test_mascot_pixels_are_in_the_box(clip: tuple[Path, list]) -> None:
    path, truth = clip
    for frame, (_, (x, y, w, h)) in zip(decode_window(path, 0.0, 2.0), truth, strict=True):
        mask = _sprite_mask(frame.image)
        inside = mask[y : y + h, x : x + w]
        assert inside.mean() > 0.3  # the body colour is the box's main colour
        assert mask.sum() == inside.sum()  # and appears nowhere else


def test_clip_streams_keyframes_and_audio(clip: tuple[Path, list]) -> None:
    path, _ = clip
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (audio.codec_context.name, audio.rate, audio.channels) == ("aac", 48000, 1)
        keyframes = [p for p in container.demux(video) if p.is_keyframe]
    assert len(keyframes) == 4


@pytest.mark.parametrize(("background", "texture"), [("scene", True), ("plain", False)])
def test_backgrounds(tmp_path: Path, background: str, texture: bool) -> None:
    path = tmp_path / "clip.mp4"
    spec = ClipSpec(seconds=0.5, width=128, height=96, audio=False, background=background)
    make_mascot_clip(path, spec)
    corner = decode_window(path, 0.0, 0.1)[0].image[:, :40]  # clear of the mascot
    assert (corner.std() > 10) == texture


@pytest.mark.parametrize(
    "kind", ["random", "text", "png", "hls_playlist", "concat_playlist", "mp3", "m4a"]
)
def test_write_bytes_file_kinds(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "input"
    write_bytes_file(path, kind)
    assert path.stat().st_size > 0


def test_bad_requests_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_bytes_file(tmp_path / "x", "gif")
    with pytest.raises(ValueError):
        ClipSpec(width=321)
    with pytest.raises(ValueError):
        ClipSpec(container="flv")
