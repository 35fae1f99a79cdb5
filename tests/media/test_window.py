"""decode_window, sample_frames and extract_audio_clip on real synthetic clips."""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from troupe.media import window
from troupe.media.synthetic import Box, ClipSpec, make_mascot_clip
from troupe.media.window import (
    Grid,
    decode_grids,
    decode_window,
    extract_audio_clip,
    sample_frames,
)

SPEC = ClipSpec(seconds=3.0, width=320, height=240, fps=24, keyframe_seconds=1.0)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list]]:
    folder = tmp_path_factory.mktemp("window")
    made = {}
    for container in ("mp4", "mkv", "webm", "avi"):
        path = folder / f"clip.{container}"
        made[container] = (
            path,
            make_mascot_clip(path, replace(SPEC, container=container)),
        )
    return made


def _sprite_centre_x(image: np.ndarray) -> float:
    near = np.abs(image.astype(int) - np.array(SPEC.sprite_color)).sum(axis=2) < 90
    return float(np.nonzero(near)[1].mean())


def _box_at(truth: list[tuple[float, Box]], t: float) -> Box:
    time, box = min(truth, key=lambda entry: abs(entry[0] - t))
    assert time == pytest.approx(t, abs=2e-3)
    return box


@pytest.mark.parametrize("container", ["mp4", "mkv", "webm", "avi"])
def test_window_holds_exactly_its_frames(clips: dict, container: str) -> None:
    path, truth = clips[container]
    frames = decode_window(path, 1.5, 2.5)
    assert len(frames) == 24
    times = [frame.time for frame in frames]
    assert times == sorted(times)
    assert 1.5 - 1e-3 <= times[0] < 1.5 + 1 / 24
    assert times[-1] < 2.5
    for frame in frames:
        assert frame.image.shape == (240, 320, 3) and frame.image.dtype == np.uint8
        # a mislabelled time would put the moving mascot a few pixels off its box
        x, _, w, _ = _box_at(truth, frame.time)
        assert _sprite_centre_x(frame.image) == pytest.approx(x + w / 2, abs=2.5)


def test_window_at_the_start_and_past_the_end(clips: dict) -> None:
    path, _ = clips["mp4"]
    assert [round(f.time * 24) for f in decode_window(path, 0.0, 0.25)] == [0, 1, 2, 3, 4, 5]
    assert len(decode_window(path, 2.5, 10.0)) == 12
    assert decode_window(path, 5.0, 6.0) == []


def test_window_at_a_lower_rate_keeps_a_frame_per_grid_step(clips: dict) -> None:
    path, _ = clips["mp4"]
    every = decode_window(path, 1.0, 2.0)
    thinned = decode_window(path, 1.0, 2.0, fps=8)
    # Frames nothing refers to are skipped, so each kept frame is the first decoded one at or
    # after its grid point, inside the grid step.
    indices = [round(f.time * 24) for f in thinned]
    grid = list(range(24, 48, 3))
    assert len(indices) == len(grid)
    assert all(0 <= index - point < 3 for index, point in zip(indices, grid, strict=True))
    kept = {round(f.time * 24): f.image for f in every}
    assert all(np.array_equal(kept[round(f.time * 24)], f.image) for f in thinned)


def test_max_side_shrinks_the_longer_side(clips: dict) -> None:
    path, _ = clips["mp4"]
    assert decode_window(path, 0.0, 0.1, max_side=160)[0].image.shape == (120, 160, 3)
    assert decode_window(path, 0.0, 0.1, max_side=1000)[0].image.shape == (240, 320, 3)


def test_window_recovers_when_a_seek_overshoots(
    clips: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = clips["mp4"]
    real_seek = window._seek
    calls: list[float] = []

    def overshooting_seek(container: av.container.InputContainer, stream, seconds: float) -> None:
        calls.append(seconds)
        real_seek(container, stream, seconds + 1.0 if len(calls) == 1 else seconds)

    monkeypatch.setattr(window, "_seek", overshooting_seek)
    frames = decode_window(path, 1.5, 2.0)
    assert len(calls) == 2
    assert len(frames) == 12 and frames[0].time == pytest.approx(1.5)


def test_one_pass_gives_each_grid_what_its_own_decode_would(clips: dict) -> None:
    path, _ = clips["mp4"]
    grids = [Grid(1.0, 2.0, 8, 160), Grid(1.0, 2.5, 12), Grid(1.9, 2.2, None, 200)]
    (sparse, strip, around), kept = decode_grids(path, grids, keep=0)
    every = {round(f.time * 24): f.image for f in decode_window(path, 0.5, 3.0)}
    assert [round(f.time * 24) for f in sparse] == list(range(24, 48, 3))
    assert [round(f.time * 24) for f in strip] == list(range(24, 60, 2))
    assert [round(f.time * 24) for f in around] == list(range(46, 53))
    assert all(f.image.shape == (120, 160, 3) for f in sparse)
    assert all(np.array_equal(f.image, every[round(f.time * 24)]) for f in strip)
    alone = decode_window(path, 1.9, 2.2, max_side=200)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(around, alone, strict=True))
    # The kept frames are converted when asked, at the size asked, and only those asked for.
    assert [t for t, _ in kept.frames] == [f.time for f in sparse]
    [picked] = kept.within(1.2, 1.3, None)
    assert round(picked.time * 24) == 30
    assert np.array_equal(picked.image, every[30])
    assert [f.image.shape for f in kept.within(1.2, 1.3, 100)] == [(75, 100, 3)]
    assert kept.within(2.4, 2.6, None) == []


def test_720p_window(tmp_path: Path) -> None:
    path = tmp_path / "hd.mp4"
    make_mascot_clip(path, ClipSpec(seconds=3.5, audio=False))
    frames = decode_window(path, 0.25, 3.25)
    assert len(frames) == 72
    assert frames[0].image.shape == (720, 1280, 3)
    assert decode_window(path, 1.0, 1.1, max_side=512)[0].image.shape == (288, 512, 3)


def test_display_rotation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "portrait.mp4"
    picture = np.zeros((64, 96, 3), np.uint8)
    picture[:16, :16] = (255, 0, 0)  # red top-left corner as stored
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.set_display_rotation(-90)  # how phones tag portrait video: turn clockwise
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 24)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    image = decode_window(path, 0.0, 1.0)[0].image
    assert image.shape == (96, 64, 3)
    assert image[:8, -8:, 0].mean() > 200  # the red corner is now top-right


def test_sample_frames_spreads_over_the_video(clips: dict) -> None:
    path, _ = clips["mp4"]
    frames = sample_frames(path, fps=4.0, max_side=100)
    assert len(frames) == 12
    # Within one grid step of a quarter second, two frames at most from their grid point.
    assert all(0 <= frame.time - i / 4 < 2.5 / 24 for i, frame in enumerate(frames))
    assert all(frame.image.shape == (75, 100, 3) for frame in frames)


def test_sample_frames_at_an_odd_rate_does_not_drift(clips: dict) -> None:
    path, _ = clips["webm"]
    frames = sample_frames(path, fps=5.0, max_side=64)
    assert len(frames) == 15
    assert all(abs(frame.time - i / 5) < 1 / 24 for i, frame in enumerate(frames))


def _decode_audio(path: Path) -> tuple[av.AudioStream, np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = np.concatenate([f.to_ndarray() for f in container.decode(stream)], axis=1)
        return stream, samples


def test_extract_audio_clip_writes_the_window_as_aac(clips: dict, tmp_path: Path) -> None:
    dest = tmp_path / "voice.m4a"
    start, end = 0.77, 1.77
    assert extract_audio_clip(clips["mp4"][0], start, end, dest)
    stream, samples = _decode_audio(dest)
    assert stream.codec_context.name == "aac" and stream.rate == 48000
    assert samples.shape[0] == 1  # mono, like the source
    assert 48000 <= samples.shape[1] <= 48000 + 1024  # one AAC frame of encoder padding
    # the source is a 440 Hz sine from t=0: the clip must continue it in phase
    t = start + np.arange(2000, 46000) / 48000
    expected = np.sin(2 * math.pi * SPEC.tone_hz * t)
    got = samples[0, 2000:46000]
    correlation = float(np.dot(got, expected) / np.linalg.norm(got) / np.linalg.norm(expected))
    assert correlation > 0.95


def test_extract_audio_clip_keeps_stereo(tmp_path: Path) -> None:
    source = tmp_path / "stereo.mkv"
    make_mascot_clip(
        source, ClipSpec(seconds=1.0, width=96, height=64, container="mkv", stereo=True)
    )
    dest = tmp_path / "voice.m4a"
    assert extract_audio_clip(source, 0.2, 0.7, dest)
    assert _decode_audio(dest)[1].shape[0] == 2


def test_extract_audio_clip_without_audio_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "silent.mp4"
    make_mascot_clip(source, ClipSpec(seconds=1.0, width=96, height=64, audio=False))
    dest = tmp_path / "voice.m4a"
    assert extract_audio_clip(source, 0.0, 0.5, dest) is False
    assert list(tmp_path.iterdir()) == [source]
