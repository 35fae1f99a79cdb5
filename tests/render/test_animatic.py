"""The animatic back end end to end: real MP4s decoded and checked, characters recognised."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.render.conftest import Render, render
from troupe.characters.consistency import score_video
from troupe.characters.fingerprint import build_fingerprint, load_fingerprint
from troupe.media.encode import AUDIO_RATE, read_audio
from troupe.media.window import decode_window
from troupe.render.backend import CastMember, RenderRequest

SAMPLES = 6  # frames the consistency scorer looks at


def check_mp4(path: Path, width: int, height: int, seconds: int) -> None:
    """H.264 yuv420p + stereo AAC, the size asked for, and `seconds` long to within a frame."""
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (video.width, video.height) == (width, height)
        assert video.average_rate == 24
        assert (audio.codec_context.name, audio.rate, audio.channels) == ("aac", 48000, 2)
        for stream in (video, audio):
            assert stream.duration is not None and stream.time_base is not None
            assert abs(float(stream.duration * stream.time_base) - seconds) <= 1 / 24
        assert container.duration is not None
        assert abs(container.duration / av.time_base - seconds) <= 1 / 24
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == seconds * 24


def fingerprint(member: CastMember) -> bytes:
    return build_fingerprint([np.asarray(Image.open(p).convert("RGBA")) for p in member.cutouts])


def score(member: CastMember, video: Path) -> float:
    return score_video(load_fingerprint(fingerprint(member)), video, samples=SAMPLES)


def test_a_render_is_a_browser_ready_mp4_of_the_asked_size_and_length(landscape: Render) -> None:
    check_mp4(landscape.path, 1280, 720, 4)
    head = landscape.path.read_bytes()[:200_000]
    assert 0 <= head.find(b"moov") < head.find(b"mdat")  # the index first: playback starts at once


def test_the_cast_is_recognisable_and_nobody_else_is(
    landscape: Render, drawn_cast: dict[str, CastMember]
) -> None:
    assert score(drawn_cast["bolt"], landscape.path) >= 0.6
    assert score(drawn_cast["pip"], landscape.path) >= 0.6
    assert score(drawn_cast["zig"], landscape.path) <= 0.3
    assert score(drawn_cast["cereal_box"], landscape.path) <= 0.3


def test_a_characters_voice_plays_over_the_ambience(landscape: Render) -> None:
    audio = read_audio(landscape.path)
    assert audio is not None

    def tone(start: float) -> float:
        part = audio[0, round(start * AUDIO_RATE) : round((start + 1) * AUDIO_RATE)]
        spectrum = np.abs(np.fft.rfft(part))  # 1 Hz bins
        return float(spectrum[435:446].max() / np.median(spectrum[200:2000]))

    assert tone(0.5) > 10 * tone(2.5)  # bolt speaks once, first: 0.5-1.5 s


def test_progress_is_reported_regularly_up_to_one(landscape: Render) -> None:
    progress = landscape.progress
    assert len(progress) >= 10
    assert progress == sorted(progress) and progress[-1] == 1.0 and progress[0] <= 0.1


def test_a_portrait_cast_of_four_in_the_rain(
    drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    request = RenderRequest(
        prompt="@bolt spins, @pip dances, @zig jumps and @cereal_box skates in the rain at "
        "night; zoom in",
        cast=tuple(drawn_cast[name] for name in ("bolt", "pip", "zig", "cereal_box")),
        seconds=4,
        width=720,
        height=1280,
        seed=2,
    )
    video = render(request, tmp_path / "four.mp4").path
    check_mp4(video, 720, 1280, 4)
    for member in request.cast:
        assert score(member, video) >= 0.5, member.username


@pytest.mark.parametrize("seconds", [4, 8, 10, 12, 15, 16, 20])
def test_every_length_is_exact(
    seconds: int, drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    request = RenderRequest("@zig runs", (drawn_cast["zig"],), seconds, 96, 64)
    check_mp4(render(request, tmp_path / "video.mp4").path, 96, 64, seconds)


def test_the_same_request_renders_the_same_bytes(
    drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    request = RenderRequest("@pip dances in the snow", (drawn_cast["pip"],), 4, 256, 144, seed=9)
    first = render(request, tmp_path / "a.mp4").path.read_bytes()
    again = render(request, tmp_path / "b.mp4").path.read_bytes()
    other_seed = RenderRequest(request.prompt, request.cast, 4, 256, 144, seed=10)
    other = render(other_seed, tmp_path / "c.mp4").path.read_bytes()
    assert first == again
    assert first != other


def test_an_input_reference_is_the_background(
    drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    reference = tmp_path / "reference.jpg"
    picture = np.zeros((400, 200, 3), np.uint8)  # a portrait picture, for a landscape video
    picture[:, :100] = (200, 30, 40)
    picture[:, 100:] = (30, 60, 200)
    Image.fromarray(picture).save(reference, quality=95)
    request = RenderRequest(
        "a static shot of @bolt sitting",
        (drawn_cast["bolt"],),
        4,
        320,
        180,
        input_reference=reference,
    )
    video = render(request, tmp_path / "video.mp4").path
    for frame in decode_window(video, 0.0, 4.0)[::24]:
        left, right = frame.image[:12, :12], frame.image[:12, -12:]
        assert np.abs(left.mean(axis=(0, 1)) - (200, 30, 40)).max() < 25
        assert np.abs(right.mean(axis=(0, 1)) - (30, 60, 200)).max() < 25


@pytest.mark.parametrize(
    ("width", "height", "seconds"), [(321, 180, 4), (320, 180, 0), (32, 32, 4)]
)
def test_impossible_requests_are_refused(
    width: int, height: int, seconds: int, drawn_cast: dict[str, CastMember], tmp_path: Path
) -> None:
    request = RenderRequest("@bolt", (drawn_cast["bolt"],), seconds, width, height)
    with pytest.raises(ValueError):
        render(request, tmp_path / "video.mp4")
    assert not list(tmp_path.iterdir())


def test_frames_are_timed_at_24_per_second(landscape: Render) -> None:
    with av.open(str(landscape.path)) as container:
        times = [frame.time for frame in container.decode(video=0)][:5]
    assert times == pytest.approx([float(Fraction(i, 24)) for i in range(5)])
