"""Join two of our videos into one, for video extensions: the first, then the second,
re-encoded as one H.264 + AAC MP4 whose length is the sum of theirs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from troupe.media.encode import AUDIO_RATE, VideoSettings, read_audio, write_mp4
from troupe.media.probe import MediaInfo, open_media, probe

_MAX_PIXELS = 3840 * 2160


def stitch(first: Path, second: Path, dest: Path) -> None:
    """Write `first` followed by `second` to `dest`, at the first's size and frame rate (the
    second is scaled to fit if it differs; without audio a part contributes silence)."""
    head, tail = probe(first, _MAX_PIXELS), probe(second, _MAX_PIXELS)
    fps = round(head.fps)
    settings = VideoSettings(head.width, head.height, fps=fps)
    audio = np.concatenate([_track(first, head), _track(second, tail)], axis=1)
    frames = itertools.chain(_frames(first), _frames(second))
    partial = dest.with_name(dest.name + ".partial")
    try:
        write_mp4(partial, frames, audio, settings)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)


def _track(path: Path, info: MediaInfo) -> np.ndarray:
    """The part's audio cut or padded to its video's length, so the second part's sound
    starts with its pictures."""
    length = round(info.duration * AUDIO_RATE)
    samples = read_audio(path)
    if samples is None:
        return np.zeros((2, length), np.float32)
    samples = samples[:, :length]
    return np.pad(samples, ((0, 0), (0, length - samples.shape[1])))


def _frames(path: Path) -> Iterator[av.VideoFrame]:
    with open_media(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield from container.decode(stream)
