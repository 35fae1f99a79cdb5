"""probe/open_media: what is accepted, what is described, and what is refused before decoding."""

from __future__ import annotations

import shutil
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from troupe.errors import TroupeError
from troupe.media.probe import MAX_STREAMS, open_media, probe
from troupe.media.synthetic import ClipSpec, make_mascot_clip, write_bytes_file

PIXELS = 1920 * 1080
SMALL = ClipSpec(seconds=2.0, width=320, height=240, fps=24)

# container -> (MediaInfo.container, video codecs, audio codecs) this PyAV build may produce
EXPECTED = {
    "mp4": ("mp4", {"h264"}, {"aac"}),
    "mov": ("mov", {"h264"}, {"aac"}),
    "mkv": ("matroska", {"h264"}, {"aac"}),
    "webm": ("webm", {"vp9", "vp8"}, {"opus", "vorbis"}),
    "avi": ("avi", {"mpeg4"}, {"mp3", "pcm_s16le"}),
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("probe")
    made = {}
    for container in EXPECTED:
        made[container] = folder / f"clip.{container}"
        make_mascot_clip(made[container], replace(SMALL, container=container))
    return made


def _refusal(path: Path, max_frame_pixels: int = PIXELS) -> TroupeError:
    with pytest.raises(TroupeError) as caught:
        probe(path, max_frame_pixels)
    assert caught.value.code == "unsupported_media"
    return caught.value


def _write_mkv(path: Path, video_codec: str, audio_codecs: list[str]) -> None:
    """A tiny Matroska file with arbitrary codecs and stream counts."""
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream(video_codec, rate=12)
        assert isinstance(video, av.VideoStream)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audios = [out.add_stream(codec, rate=48000, layout="stereo") for codec in audio_codecs]
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 12)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for audio in audios:
            assert isinstance(audio, av.AudioStream)
            silence = av.AudioFrame.from_ndarray(
                np.zeros((2, 24000), np.float32), format="fltp", layout="stereo"
            )
            silence.sample_rate, silence.pts, silence.time_base = 48000, 0, Fraction(1, 48000)
            out.mux(audio.encode(silence))
            out.mux(audio.encode(None))


@pytest.mark.parametrize("container", list(EXPECTED))
def test_probe_describes_each_container(clips: dict[str, Path], container: str) -> None:
    info = probe(clips[container], PIXELS)
    name, video_codecs, audio_codecs = EXPECTED[container]
    assert info.container == name
    assert (info.width, info.height) == (320, 240)
    assert info.fps == pytest.approx(24.0)
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.video_codec in video_codecs
    assert info.audio_codec in audio_codecs
    assert info.has_audio


def test_clip_without_audio_has_no_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    make_mascot_clip(path, replace(SMALL, audio=False))
    info = probe(path, PIXELS)
    assert info.audio_codec is None
    assert not info.has_audio


def test_long_clip_duration(tmp_path: Path) -> None:
    path = tmp_path / "long.mp4"
    make_mascot_clip(path, ClipSpec(seconds=20.0, width=96, height=64, fps=8, audio=False))
    assert probe(path, PIXELS).duration == pytest.approx(20.0, abs=0.2)


@pytest.mark.parametrize(
    "kind", ["random", "text", "png", "mp3", "hls_playlist", "concat_playlist"]
)
def test_non_video_bytes_are_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "upload.mp4"  # the name must not matter
    write_bytes_file(path, kind)
    error = _refusal(path)
    assert "not a recognised video container" in error.message
    assert error.param == "video"


def test_audio_only_mp4_reports_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "voice.m4a"
    write_bytes_file(path, "m4a")
    assert "no video stream (found: audio aac)" in _refusal(path).message


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("hls_playlist", "list.m3u8"),
        ("concat_playlist", "upload.mp4"),
        ("concat_playlist", "c.txt"),
    ],
)
def test_playlists_ffmpeg_would_follow_are_refused(
    clips: dict[str, Path], tmp_path: Path, kind: str, name: str
) -> None:
    # each playlist points at a valid clip beside it, so only the whitelist stands in the way
    shutil.copy(clips["mp4"], tmp_path / "segment.mp4")
    playlist = tmp_path / name
    write_bytes_file(playlist, kind, target=Path("segment.mp4"))
    with av.open(str(playlist)) as unguarded:
        assert unguarded.format.name in ("hls", "concat")
    _refusal(playlist)


def test_open_media_never_reads_a_url() -> None:
    with pytest.raises(FileNotFoundError):
        open_media(Path("http://127.0.0.1:9/clip.mp4"))


@pytest.mark.parametrize("container", ["mp4", "webm"])
def test_frames_over_the_pixel_cap_are_refused(clips: dict[str, Path], container: str) -> None:
    error = _refusal(clips[container], max_frame_pixels=320 * 240 - 1)
    assert str(320 * 240 - 1) in error.message


def test_exact_pixel_cap_is_accepted(clips: dict[str, Path]) -> None:
    assert probe(clips["webm"], 320 * 240).width == 320


def test_too_many_streams_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.mkv"
    _write_mkv(path, "libx264", ["aac"] * MAX_STREAMS)
    assert f"{MAX_STREAMS + 1} streams" in _refusal(path).message


def test_unsupported_video_codec_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lossless.mkv"
    _write_mkv(path, "ffv1", [])
    assert "'ffv1'" in _refusal(path).message


def test_unsupported_audio_codec_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mp2.mkv"
    _write_mkv(path, "libx264", ["mp2"])
    assert "'mp2'" in _refusal(path).message


def test_pcm_audio_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "pcm.mkv"
    _write_mkv(path, "libx264", ["pcm_s16le"])
    assert probe(path, PIXELS).audio_codec == "pcm_s16le"
