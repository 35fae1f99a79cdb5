"""Decode what the pipeline needs from a vetted source: a time window, a sample, its audio."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.reformatter import VideoReformatter
from av.video.stream import VideoStream

from troupe.media.encode import add_audio_stream
from troupe.media.frames import Frame
from troupe.media.probe import main_video_stream, open_media

AUDIO_RATE = 48000


@dataclass(frozen=True)
class Grid:
    """Which frames of a decoding pass to keep: those with start <= time < end on a grid of
    `fps` a second (every frame without it), shrunk to fit `max_side`."""

    start: float
    end: float
    fps: float | None = None
    max_side: int | None = None


@dataclass(frozen=True)
class Kept:
    """Frames of one grid as the decoder gave them, to be converted later at another size:
    only the one picked pays for the conversion."""

    frames: list[tuple[float, av.VideoFrame]]

    def within(self, start: float, end: float, max_side: int | None) -> list[Frame]:
        """The kept frames with start <= time < end, converted to fit `max_side`."""
        reformatter = VideoReformatter()
        return [
            Frame(time=t, image=_to_rgb(frame, _fit(frame, max_side), reformatter))
            for t, frame in self.frames
            if start <= t < end
        ]


def decode_window(
    path: Path,
    start: float,
    end: float,
    max_side: int | None = None,
    fps: float | None = None,
    every_frame: bool = False,
) -> list[Frame]:
    """Frames with start <= time < end, in order, optionally shrunk to fit `max_side`.

    With `fps`, only frames on a grid of that rate are kept, from the frames that others
    reference: the rest (most B-frames) are not decoded at all, since sampling at a few frames a
    second never needs them, and only the kept ones pay for colour conversion and scaling.
    `every_frame` decodes them too, for a grid as dense as motion needs.
    """
    grid = Grid(start, end, fps, max_side)
    [frames], _ = decode_grids(path, [grid], every_frame=every_frame or not fps)
    return frames


def decode_grids(
    path: Path, grids: list[Grid], *, every_frame: bool = True, keep: int | None = None
) -> tuple[list[list[Frame]], Kept]:
    """One decoding pass that yields the frames of several grids, in order, each frame converted
    once per size however many grids take it, and grid `keep`'s frames as decoded too. Without
    `every_frame`, frames that no other frame references are not decoded."""
    found: list[list[Frame]] = [[] for _ in grids]
    kept: list[tuple[float, av.VideoFrame]] = []
    next_times = [grid.start for grid in grids]
    with open_media(path) as container:
        video = _video_stream(container)
        if not every_frame:
            video.codec_context.skip_frame = "NONREF"
        sizes = [_scaled_size(video, grid.max_side) for grid in grids]
        # One reformatter for the pass: a new scaler context per frame costs more than the
        # conversion itself.
        reformatter = VideoReformatter()
        end = max(grid.end for grid in grids)
        for t, frame in _decode_from(container, video, min(next_times)):
            if t >= end:
                break
            converted: dict[tuple[int, int] | None, np.ndarray] = {}
            for index, grid in enumerate(grids):
                if not next_times[index] <= t < grid.end:
                    continue
                size = sizes[index]
                if size not in converted:
                    converted[size] = _to_rgb(frame, size, reformatter)
                found[index].append(Frame(time=t, image=converted[size]))
                if index == keep:
                    kept.append((t, frame))
                step = 1.0 / grid.fps if grid.fps else 0.0
                while step and next_times[index] <= t:  # a fixed grid: odd rates do not drift
                    next_times[index] += step
    return found, Kept(kept)


def sample_frames(path: Path, fps: float, max_side: int) -> list[Frame]:
    """Frames across the whole video at about `fps` per second, shrunk to fit `max_side`."""
    return decode_window(path, 0.0, math.inf, max_side, fps)


def extract_audio_clip(path: Path, start: float, end: float, dest: Path) -> bool:
    """Write [start, end) of the source's audio to `dest` as AAC in .m4a; False if it has none."""
    if end <= start:
        raise ValueError("end must be after start")
    with open_media(path) as container:
        if not container.streams.audio:
            return False
        audio = container.streams.audio[0]
        layout = "mono" if audio.codec_context.channels == 1 else "stereo"
        samples = _decode_audio(container, audio, start, end, layout)
    _write_m4a(samples, layout, dest)
    return True


def _video_stream(container: av.container.InputContainer) -> VideoStream:
    video = main_video_stream(container)
    if video is None:
        raise ValueError(f"{container.name} has no video stream")
    video.thread_type = "AUTO"  # frame + slice threads: several times faster on h264
    return video


def _start_seconds(stream: av.stream.Stream) -> float:
    if stream.start_time and stream.time_base:
        return float(stream.start_time * stream.time_base)
    return 0.0


def _decode_from(
    container: av.container.InputContainer, stream: av.stream.Stream, start: float
) -> Iterator[tuple[float, Any]]:
    """(seconds from source start, frame) from the last keyframe at or before `start` on."""
    offset = _start_seconds(stream)
    _seek(container, stream, start + offset)
    timed = _timed(container.decode(stream), offset)
    first = next(timed, None)
    if first is not None and first[0] > start > 0:
        # the index had no keyframe early enough (sparse Matroska cues): start over
        _seek(container, stream, offset)
        timed = _timed(container.decode(stream), offset)
        first = next(timed, None)
    if first is not None:
        yield first
        yield from timed


def _seek(container: av.container.InputContainer, stream: av.stream.Stream, seconds: float) -> None:
    assert stream.time_base is not None
    container.seek(int(seconds / stream.time_base), stream=stream, backward=True)


def _timed(frames: Iterator[Any], offset: float) -> Iterator[tuple[float, Any]]:
    for frame in frames:
        if frame.time is not None:
            yield frame.time - offset, frame


def _scaled_size(video: VideoStream, max_side: int | None) -> tuple[int, int] | None:
    return _shrunk(video.codec_context.width, video.codec_context.height, max_side)


def _fit(frame: av.VideoFrame, max_side: int | None) -> tuple[int, int] | None:
    return _shrunk(frame.width, frame.height, max_side)


def _shrunk(width: int, height: int, max_side: int | None) -> tuple[int, int] | None:
    """The size that fits `max_side`, or None when the frame already does."""
    longest = max(width, height)
    if max_side is None or longest <= max_side:
        return None
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(
    frame: av.VideoFrame, size: tuple[int, int] | None, reformatter: VideoReformatter
) -> np.ndarray:
    width, height = size if size is not None else (frame.width, frame.height)
    # AREA averages source pixels when shrinking (no aliasing, and faster than bilinear);
    # threads=0 lets swscale use every core, several times faster at 720p
    image = reformatter.reformat(
        frame, width, height, format="rgb24", interpolation="AREA", threads=0
    ).to_ndarray()
    turns = round(frame.rotation / 90) % 4  # phones store portrait video sideways
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _decode_audio(
    container: av.container.InputContainer,
    audio: AudioStream,
    start: float,
    end: float,
    layout: str,
) -> np.ndarray:
    """The window's samples as float32 (channels, n), resampled and padded to exactly fit."""
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=AUDIO_RATE)
    chunks: list[np.ndarray] = []
    first_time: float | None = None
    for t, frame in _decode_from(container, audio, start):
        if t >= end:
            break
        if first_time is None:
            first_time = t
        chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
    chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    channels = 1 if layout == "mono" else 2
    decoded = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
    lead = 0.0 if first_time is None else first_time - start
    return _trim(decoded, lead, end - start)


def _trim(samples: np.ndarray, lead: float, length: float) -> np.ndarray:
    """Cut samples beginning `lead` s after the window start to exactly `length` s."""
    skip = round(-lead * AUDIO_RATE)
    if skip < 0:  # audio starts after the window does: pad the gap with silence
        samples = np.pad(samples, ((0, 0), (-skip, 0)))
        skip = 0
    wanted = round(length * AUDIO_RATE)
    window = samples[:, skip : skip + wanted]
    return np.pad(window, ((0, 0), (0, wanted - window.shape[1])))


def _write_m4a(samples: np.ndarray, layout: str, dest: Path) -> None:
    # write aside, then rename: readers never see a half-written clip
    partial = dest.with_name(dest.name + ".partial")
    try:
        _encode_aac(samples, layout, partial)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)


def _encode_aac(samples: np.ndarray, layout: str, dest: Path) -> None:
    with av.open(str(dest), mode="w", format="ipod") as out:
        stream = add_audio_stream(out, "aac", layout)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=layout
        )
        frame.sample_rate = AUDIO_RATE
        frame.pts = 0
        frame.time_base = Fraction(1, AUDIO_RATE)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
