"""The one door media enters troupe by: open local files safely and vet their headers.

Only plain local files in a few video containers reach FFmpeg; playlists (HLS, ffconcat),
URLs, images and audio-only formats are refused before any demuxer reads a referenced file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import av
from av.container import InputContainer
from av.stream import Disposition
from av.video.stream import VideoStream

from troupe.errors import TroupeError

ALLOWED_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi"  # FFmpeg demuxer names
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mjpeg", "prores"})
# A title tag longer than this is cut: only a character's name is made of it.
MAX_TITLE_LENGTH = 200
AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "vorbis", "flac", "ac3", "eac3", "alac"})
MAX_STREAMS = 8
# Phones film slow motion at up to 240 frames a second; a header claiming more is a decode bomb.
MAX_FRAME_RATE = 250.0

# Whitelists make FFmpeg refuse every other demuxer (hls, concat, image2, ...) and every
# protocol but plain files, also for anything a demuxer would open on the file's behalf.
_SAFE_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": ALLOWED_FORMATS}
_ACCEPTED = "MP4/MOV, Matroska/WebM or AVI"


@dataclass(frozen=True)
class MediaInfo:
    """What the header says about an uploaded video."""

    container: str  # "mp4", "mov", "matroska", "webm" or "avi"
    duration: float  # seconds
    width: int  # coded size; a display rotation is applied only when decoding
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None
    title: str | None = None  # the container's own title tag, as written

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def open_media(path: Path, max_frame_pixels: int | None = None) -> InputContainer:
    """Open a local media file for reading; the only way troupe opens media.

    `max_frame_pixels` also caps the frames FFmpeg decodes while analysing the streams.
    """
    resolved = path.resolve()  # an absolute path can never be read as a URL
    if not resolved.is_file():
        raise FileNotFoundError(f"no media file at {path}")
    stream_options = {} if max_frame_pixels is None else {"max_pixels": str(max_frame_pixels)}
    try:
        return av.open(
            str(resolved),
            mode="r",
            container_options=_SAFE_OPTIONS,
            options=stream_options,
            metadata_errors="replace",
        )
    except av.FFmpegError as exc:
        raise TroupeError(
            "unsupported_media",
            f"the file is not a recognised video container (accepted: {_ACCEPTED})",
            param="video",
        ) from exc


def probe(path: Path, max_frame_pixels: int) -> MediaInfo:
    """Vet a video and describe it, without decoding beyond what opening it does.

    Opening runs FFmpeg's stream analysis, which may decode a first frame or two; those
    decoders are held to `max_frame_pixels` too. Raises unsupported_media if unfit.
    """
    with open_media(path, max_frame_pixels) as container:
        if len(container.streams) > MAX_STREAMS:
            _refuse(f"the file has {len(container.streams)} streams; at most {MAX_STREAMS}")
        video = main_video_stream(container)
        if video is None:
            _refuse(f"no video stream (found: {_describe_streams(container)})")
        video_codec = _codec_name(video)
        if video_codec not in VIDEO_CODECS:
            _refuse(f"video codec {video_codec!r} is not supported")
        width, height = _frame_size(video, max_frame_pixels)
        duration = _duration(container, video)
        _check_frame_count(video, duration)
        return MediaInfo(
            container=_container_name(container, path),
            duration=duration,
            width=width,
            height=height,
            fps=_fps(video),
            video_codec=video_codec,
            audio_codec=_audio_codec(container),
            title=_title(container),
        )


def main_video_stream(container: InputContainer) -> VideoStream | None:
    """The first real video stream; cover art in audio files also shows up as 'video'."""
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    return None


def _refuse(message: str) -> NoReturn:
    raise TroupeError("unsupported_media", message, param="video")


def _codec_name(stream: av.stream.Stream) -> str:
    if stream.codec_context is None:  # FFmpeg has no decoder for it
        return "unknown"
    return stream.codec_context.codec.canonical_name


def _describe_streams(container: InputContainer) -> str:
    kinds = [f"{stream.type} {_codec_name(stream)}" for stream in container.streams]
    return ", ".join(kinds) or "no streams"


def _frame_size(video: VideoStream, max_frame_pixels: int) -> tuple[int, int]:
    width, height = video.codec_context.width, video.codec_context.height
    # a decoder refusing an oversized frame during analysis leaves the size at 0x0
    if width <= 0 or height <= 0:
        _refuse(f"video frame size is unknown or larger than {max_frame_pixels} pixels")
    if width * height > max_frame_pixels:
        _refuse(f"video frames are {width}x{height}, more than {max_frame_pixels} pixels")
    return width, height


def _fps(video: VideoStream) -> float:
    rate = video.average_rate or video.guessed_rate or video.base_rate
    if not rate or rate <= 0:
        _refuse("video frame rate is unknown")
    if rate > MAX_FRAME_RATE:
        _refuse(f"video frame rate is {float(rate):g} fps, more than {MAX_FRAME_RATE:g}")
    return float(rate)


def _check_frame_count(video: VideoStream, duration: float) -> None:
    # MP4 and AVI headers count the frames (0 where unknown): every one would be decoded
    most = math.ceil(duration * MAX_FRAME_RATE) + 1
    if video.frames > most:
        _refuse(f"the file declares {video.frames} frames in {duration:.1f}s, more than {most}")


def _duration(container: InputContainer, video: VideoStream) -> float:
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    if container.duration and container.duration > 0:  # Matroska only knows the whole file's
        return container.duration / av.time_base
    _refuse("video duration is unknown")


def _audio_codec(container: InputContainer) -> str | None:
    if not container.streams.audio:
        return None
    name = _codec_name(container.streams.audio[0])
    if name not in AUDIO_CODECS and not name.startswith("pcm_"):
        _refuse(f"audio codec {name!r} is not supported")
    return name


def _title(container: InputContainer) -> str | None:
    """The container's title tag, bounded: it is the uploader's text."""
    title = str(container.metadata.get("title") or "").strip()
    return title[:MAX_TITLE_LENGTH] or None


def _container_name(container: InputContainer, path: Path) -> str:
    # FFmpeg's demuxer names cover families ("mov,mp4,...", "matroska,webm"); narrow them
    names = container.format.name.split(",")
    if "mov" in names:
        return "mov" if container.metadata.get("major_brand", "").strip() == "qt" else "mp4"
    if "matroska" in names:
        return "webm" if _has_webm_doctype(path) else "matroska"
    return names[0]


def _has_webm_doctype(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(256)
    return b"\x42\x82\x84webm" in head  # EBML DocType element holding "webm"
