"""A caller's uploaded clip as render material: vetted, then remade as one of our own MP4s
(upright, cover-fitted to the output size, on the output's frame grid) that a render reads as
its plate (an edit's background) or stitches before its new seconds (an extension).

`inspect_clip` and `prepare_clip` read untrusted media: run them in the sandbox. `Plate` reads
only what `prepare_clip` wrote.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from troupe.errors import TroupeError
from troupe.media.encode import AUDIO_RATE, VideoSettings, read_audio, write_mp4
from troupe.media.probe import main_video_stream, open_media, probe

# A prepared clip is ours: its frames never exceed the output size, which is at most 1080p.
_PREPARED_PIXELS = 1920 * 1080


@dataclass(frozen=True)
class ClipInfo:
    """An uploaded clip as it plays: its length and its upright (displayed) size."""

    duration: float
    width: int
    height: int


def inspect_clip(path: Path, max_seconds: float, max_frame_pixels: int) -> ClipInfo:
    """Vet the clip as a character source is vetted (container, codecs, size, length), and
    decode its first frame, so a file that only looks like a video is refused now."""
    info = probe(path, max_frame_pixels)
    if info.duration > max_seconds + 0.05:
        raise TroupeError(
            "video_too_long",
            f"the uploaded video is {info.duration:.1f}s long; at most {max_seconds:g}s "
            "is accepted",
            param="video",
        )
    with open_media(path, max_frame_pixels) as container:
        stream = main_video_stream(container)
        first = next(_decoded(container, stream), None) if stream is not None else None
    if first is None:
        raise TroupeError(
            "unsupported_media", "no frame of the uploaded video could be decoded", param="video"
        )
    width, height = _upright_size(first[1])
    return ClipInfo(duration=info.duration, width=width, height=height)


def prepare_clip(
    source: Path,
    dest: Path,
    size: tuple[int, int],
    fps: int,
    seconds: float | None = None,
    max_frame_pixels: int = 3840 * 2160,
) -> None:
    """Write `source` to `dest` as H.264 (+ AAC when it has sound) at `size` (width, height),
    upright, scaled to cover the frame and centre-cropped, `fps` frames a second.

    The result lasts `seconds` (the last frame held, or the rest cut), else the source's own
    length to the nearest frame."""
    length = probe(source, max_frame_pixels).duration if seconds is None else seconds
    count = max(1, round(length * fps))
    audio = read_audio(source)
    if audio is not None:
        wanted = round(count / fps * AUDIO_RATE)
        audio = np.pad(audio[:, :wanted], ((0, 0), (0, max(0, wanted - audio.shape[1]))))
    frames = _on_grid(source, size, fps, count)
    partial = dest.with_name(dest.name + ".partial")
    try:
        write_mp4(partial, frames, audio, VideoSettings(size[0], size[1], fps=fps))
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)


class Plate:
    """The frames of a prepared clip by time, as (height, width, 4) uint8 (the fourth channel
    opaque), decoded forward once; past its end the last frame holds."""

    def __init__(self, path: Path, size: tuple[int, int]) -> None:
        self.size = size
        self._container = open_media(path, _PREPARED_PIXELS)
        stream = main_video_stream(self._container)
        if stream is None:
            self._container.close()
            raise ValueError(f"the plate {path.name} has no video stream")
        self._pending = _decoded(self._container, stream)
        self._reformatter = VideoReformatter()
        self._next = next(self._pending, None)
        if self._next is None:
            self._container.close()
            raise ValueError(f"the plate {path.name} has no frames")
        self._image: np.ndarray | None = None

    def at(self, t: float) -> np.ndarray:
        """The frame showing at `t` seconds (its first frame before that one starts)."""
        while self._next is not None and (self._image is None or self._next[0] <= t + 1e-4):
            frame = self._next[1]
            width, height = self.size
            self._image = self._reformatter.reformat(
                frame, width, height, format="rgba", threads=0
            ).to_ndarray()
            self._next = next(self._pending, None)
        assert self._image is not None
        return self._image

    def close(self) -> None:
        self._container.close()


def _on_grid(source: Path, size: tuple[int, int], fps: int, count: int) -> Iterator[np.ndarray]:
    """`count` fitted frames, the i-th the one showing at i / fps."""
    reformatter = VideoReformatter()
    with open_media(source) as container:
        stream = main_video_stream(container)
        if stream is None:
            raise TroupeError("unsupported_media", "the uploaded video has no video stream")
        decoded = _decoded(container, stream)
        upcoming = next(decoded, None)
        if upcoming is None:
            raise TroupeError("unsupported_media", "no frame of the uploaded video decodes")
        image: np.ndarray | None = None
        for i in range(count):
            t = i / fps
            while upcoming is not None and (image is None or upcoming[0] <= t + 1e-4):
                image = _fitted(upcoming[1], size, reformatter)
                upcoming = next(decoded, None)
            assert image is not None
            yield image


def _decoded(container: Any, stream: Any) -> Iterator[tuple[float, av.VideoFrame]]:
    """(seconds from the stream's start, frame), in order; frames without a time are skipped."""
    stream.thread_type = "AUTO"
    start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    for frame in container.decode(stream):
        if frame.time is not None:
            yield frame.time - start, frame


def _upright_size(frame: av.VideoFrame) -> tuple[int, int]:
    """The size the frame is shown at: phones store portrait video sideways, with a rotation."""
    if _turns(frame) % 2:
        return frame.height, frame.width
    return frame.width, frame.height


def _turns(frame: av.VideoFrame) -> int:
    return round(frame.rotation / 90) % 4


def _fitted(
    frame: av.VideoFrame, size: tuple[int, int], reformatter: VideoReformatter
) -> np.ndarray:
    """The frame upright, scaled to cover `size` (width, height) and centre-cropped: nothing
    stretched. Scaling is swscale's, before the turn, so only the kept size is converted."""
    width, height = size
    shown_w, shown_h = _upright_size(frame)
    scale = max(width / shown_w, height / shown_h)
    scaled_w = max(width, math.ceil(shown_w * scale - 1e-6))
    scaled_h = max(height, math.ceil(shown_h * scale - 1e-6))
    turns = _turns(frame)
    coded = (scaled_h, scaled_w) if turns % 2 else (scaled_w, scaled_h)
    image = reformatter.reformat(
        frame,
        coded[0],
        coded[1],
        format="rgb24",
        interpolation="AREA" if scale < 1 else "BICUBIC",
        threads=0,
    ).to_ndarray()
    if turns:
        image = np.rot90(image, turns)
    x0, y0 = (scaled_w - width) // 2, (scaled_h - height) // 2
    return np.ascontiguousarray(image[y0 : y0 + height, x0 : x0 + width])
