"""Crafted hostile media for tests: frames far larger than their bytes, and lying headers.

Lying files are written honestly with PyAV, then patched where the format keeps a size or a
count in fixed-width fields: a VP8 key frame's 16-bit width and height, Matroska's PixelWidth
and PixelHeight, and an AVI's frame counts and rate.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Sizes that take two bytes in Matroska, so the patched values fit in place.
HONEST_SIZE = (320, 256)
# As large as FFmpeg lets a frame be ((w+128)*(h+128) < INT_MAX/8): one 4:2:0 frame of it
# takes 384 MB, and a decoder holds several.
BOMB_SIZE = (16000, 16000)
BOMB_FRAME_BYTES = BOMB_SIZE[0] * BOMB_SIZE[1] * 3 // 2

_VP8_KEY_FRAME = b"\x9d\x01\x2a"  # start code before a key frame's width and height
_MKV_WIDTH, _MKV_HEIGHT, _TWO_BYTES = b"\xb0", b"\xba", b"\x82"  # EBML ids and size


def write_flat_h264(path: Path, side: int) -> None:
    """A real MP4 of one flat side x side H.264 frame: a few kilobytes that decode to
    megabytes, and a codec FFmpeg decodes while it analyses the streams."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=12, options={"preset": "ultrafast"})
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = side, side, "yuv420p"
        frame = av.VideoFrame(side, side, "yuv420p")
        for plane in frame.planes:
            np.frombuffer(plane, np.uint8)[:] = 128
        frame.pts, frame.time_base = 0, Fraction(1, 12)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def write_vp8_webm(path: Path, seconds: float = 2.0, fps: int = 12, key_every: int = 6) -> None:
    """A silent WebM of HONEST_SIZE grey frames with a key frame every `key_every` frames."""
    width, height = HONEST_SIZE
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=fps, options={"deadline": "realtime"})
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = key_every
        for index in range(round(seconds * fps)):
            image = np.full((height, width, 3), 8 * index % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def write_size_bomb(path: Path, scratch: Path, mid_stream: bool) -> None:
    """A WebM whose frames declare BOMB_SIZE while each packet holds a few bytes.

    Header bomb (`mid_stream=False`): the container and every key frame say so, and a
    header check can refuse it. Mid-stream bomb: the container and the first key frame are
    honest, so the file passes every header check, and only later key frames grow.
    """
    honest = scratch / f"honest-{path.name}"
    write_vp8_webm(honest)
    data = honest.read_bytes()
    old_key = _VP8_KEY_FRAME + struct.pack("<HH", *HONEST_SIZE)
    new_key = _VP8_KEY_FRAME + struct.pack("<HH", *BOMB_SIZE)
    first, *rest = data.split(old_key)
    assert len(rest) >= 2, "expected several key frames"
    patched = first + (old_key if mid_stream else new_key) + new_key.join(rest)
    if not mid_stream:
        patched = _patch_mkv_size(patched)
    path.write_bytes(patched)


def _patch_mkv_size(data: bytes) -> bytes:
    for element, old, new in zip((_MKV_WIDTH, _MKV_HEIGHT), HONEST_SIZE, BOMB_SIZE, strict=True):
        field = element + _TWO_BYTES + struct.pack(">H", old)
        assert data.count(field) == 1, "expected one PixelWidth and one PixelHeight"
        data = data.replace(field, element + _TWO_BYTES + struct.pack(">H", new))
    return data


def write_frame_count_bomb(path: Path, frames: int, seconds: float) -> None:
    """A tiny MJPEG AVI whose headers declare `frames` frames over `seconds`."""
    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("mjpeg", rate=12)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for index in range(12):
            image = np.full((48, 64, 3), 20 * index, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 12)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    main_header = data.index(b"avih") + 8
    struct.pack_into("<I", data, main_header + 16, frames)  # dwTotalFrames
    stream_header = data.index(b"strh") + 8
    rate = round(frames / seconds)
    # dwScale, dwRate, dwStart, dwLength: `rate` frames a second, `frames` of them
    struct.pack_into("<IIII", data, stream_header + 20, 1, rate, 0, frames)
    path.write_bytes(bytes(data))


def decode_first_frame(path: Path) -> tuple[int, int]:
    """Open and decode as FFmpeg would with no limits: the control that shows a bomb is one."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            return frame.width, frame.height
    raise AssertionError("no frame")
