"""Synthetic media for tests, benchmarks and demos: a cartoon mascot moving over a scene.

Clips carry their ground truth (the mascot's box per frame) so subject detection can be scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

from troupe.media.encode import AUDIO_RATE, add_audio_stream, encode_audio, first_encoder

Box = tuple[int, int, int, int]

_SUPERSAMPLE = 4  # the sprite is drawn large, then shrunk, for smooth antialiased edges

# our container name -> (FFmpeg muxer, video encoders, audio encoders), best first
_CONTAINERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "mp4": ("mp4", ("libx264",), ("aac",)),
    "mov": ("mov", ("libx264",), ("aac",)),
    "mkv": ("matroska", ("libx264",), ("aac",)),
    "webm": ("webm", ("libvpx-vp9", "libvpx"), ("libopus", "libvorbis")),
    "avi": ("avi", ("mpeg4",), ("libmp3lame", "pcm_s16le")),
}

# encoder -> private options that keep synthetic encoding quick
_ENCODER_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"preset": "veryfast"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
}


@dataclass(frozen=True)
class ClipSpec:
    """What `make_mascot_clip` draws and how it encodes it."""

    seconds: float = 4.0
    width: int = 1280
    height: int = 720
    fps: int = 24
    keyframe_seconds: float = 2.0  # like phone video; x264 alone would put one every ~10 s
    audio: bool = True  # a sine tone
    container: str = "mp4"  # one of _CONTAINERS
    # "scene" (hills, sun, trees; static camera), "texture" (grass-like noise with no object
    # standing out) or "plain" (flat grey)
    background: str = "scene"
    sprite_color: tuple[int, int, int] = (230, 60, 40)
    tone_hz: float = 440.0
    stereo: bool = False
    seed: int = 0
    sprite: bool = True  # False: the empty scene, for "no subject" cases
    sprite_from: float = 0.0  # the mascot walks in at this time; before it the scene is empty
    brightness: float = 1.0  # scales every pixel; 0.03 makes a clip too dark to use

    def __post_init__(self) -> None:
        if self.container not in _CONTAINERS:
            raise ValueError(f"container must be one of {sorted(_CONTAINERS)}")
        if self.background not in ("scene", "texture", "plain"):
            raise ValueError("background must be 'scene', 'texture' or 'plain'")
        # yuv420p needs even dimensions
        if self.width % 2 or self.height % 2 or self.width < 64 or self.height < 64:
            raise ValueError("width and height must be even and at least 64")

    @property
    def frame_count(self) -> int:
        return max(1, round(self.seconds * self.fps))


def make_mascot_clip(path: Path, spec: ClipSpec = ClipSpec()) -> list[tuple[float, Box]]:
    """Write the clip to `path`; return (time, [x, y, w, h]) of the mascot for every frame.

    Without a sprite the list is empty.
    """
    background = render_background(spec)
    sprites = [render_sprite(spec, mouth_open=False), render_sprite(spec, mouth_open=True)]
    sprite_h, sprite_w = sprites[0][0].shape[:2]
    tight = _alpha_bbox(sprites[0][1])
    muxer, video_encoders, audio_encoders = _CONTAINERS[spec.container]
    truth: list[tuple[float, Box]] = []
    # encoder priming (mp3's is negative) must not shift the video's timestamps
    with av.open(str(path), "w", format=muxer, options={"avoid_negative_ts": "disabled"}) as out:
        video = _add_video_stream(out, first_encoder(video_encoders), spec)
        layout = "stereo" if spec.stereo else "mono"
        audio = add_audio_stream(out, first_encoder(audio_encoders), layout) if spec.audio else None
        tone = _tone(spec.seconds, spec.tone_hz, 2 if spec.stereo else 1)
        audio_done = 0
        for i in range(spec.frame_count):
            t = i / spec.fps
            x, y = _sprite_position(t, spec, sprite_w, sprite_h)
            color, alpha = sprites[int(t * 4) % 2]  # the mouth flaps four times a second
            visible = spec.sprite and t >= spec.sprite_from
            image = _composite(background, color, alpha, x, y) if visible else background
            if spec.brightness != 1.0:
                image = np.clip(image * spec.brightness, 0, 255).astype(np.uint8)
            if visible:
                truth.append((t, (x + tight[0], y + tight[1], tight[2], tight[3])))
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, spec.fps)
            out.mux(video.encode(frame))
            if audio is not None:
                # interleave: keep the audio written up to the end of this video frame
                upto = min(tone.shape[1], round((i + 1) / spec.fps * AUDIO_RATE))
                encode_audio(out, audio, tone[:, audio_done:upto], audio_done)
                audio_done = upto
        out.mux(video.encode(None))
        if audio is not None:
            out.mux(audio.encode(None))
    return truth


def write_bytes_file(path: Path, kind: str, target: Path | None = None) -> None:
    """Write a non-video input for tests.

    kind: "random", "text", "png", "hls_playlist", "concat_playlist", "mp3" or "m4a" (audio
    only). Playlists point at `target` (default /etc/passwd, the classic exfiltration bait).
    """
    ref = str(target) if target is not None else "/etc/passwd"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(64 * 1024))
    elif kind == "text":
        path.write_text("This is a shopping list, not a video.\n" * 200)
    elif kind == "png":
        Image.new("RGB", (64, 48), (200, 30, 30)).save(path, format="PNG")
    elif kind == "hls_playlist":
        path.write_text(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:10.0,\n{ref}\n#EXT-X-ENDLIST\n"
        )
    elif kind == "concat_playlist":
        path.write_text(f"ffconcat version 1.0\nfile '{ref}'\n")
    elif kind in ("mp3", "m4a"):
        _write_audio_only(path, kind)
    else:
        raise ValueError(f"unknown kind {kind!r}")


def _add_video_stream(
    out: av.container.OutputContainer, codec: str, spec: ClipSpec
) -> av.VideoStream:
    stream = out.add_stream(codec, rate=spec.fps, options=_ENCODER_OPTIONS.get(codec, {}))
    assert isinstance(stream, av.VideoStream)
    stream.width = spec.width
    stream.height = spec.height
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = max(1, round(spec.keyframe_seconds * spec.fps))
    if codec != "libx264":
        # the other encoders default to low bitrates that smear the sprite's colours
        stream.bit_rate = int(spec.width * spec.height * spec.fps * 0.15)
    return stream


def _tone(seconds: float, hz: float, channels: int) -> np.ndarray:
    t = np.arange(round(seconds * AUDIO_RATE), dtype=np.float64) / AUDIO_RATE
    wave = (0.3 * np.sin(2 * math.pi * hz * t)).astype(np.float32)
    return np.repeat(wave[np.newaxis, :], channels, axis=0)


def _write_audio_only(path: Path, kind: str) -> None:
    muxer, codec = ("mp3", "libmp3lame") if kind == "mp3" else ("ipod", "aac")
    with av.open(str(path), mode="w", format=muxer) as out:
        stream = add_audio_stream(out, codec, "mono")
        encode_audio(out, stream, _tone(1.0, 440.0, 1), 0)
        out.mux(stream.encode(None))


def _sprite_position(t: float, spec: ClipSpec, sprite_w: int, sprite_h: int) -> tuple[int, int]:
    """Top-left corner: a slow side-to-side sweep with a gentle bob, always inside the frame."""
    phase = 2 * math.pi * t / 4.0
    slack_x = (spec.width - sprite_w) / 2
    slack_y = (spec.height - sprite_h) / 2
    cx = slack_x + 0.8 * slack_x * math.sin(phase)
    cy = slack_y + 0.25 * slack_y * math.sin(2 * phase)
    return round(cx), round(cy)


def _composite(
    background: np.ndarray, color: np.ndarray, alpha: np.ndarray, x: int, y: int
) -> np.ndarray:
    image = background.copy()
    h, w = alpha.shape[:2]
    region = image[y : y + h, x : x + w].astype(np.float32)
    image[y : y + h, x : x + w] = (region * (1.0 - alpha) + color).astype(np.uint8)
    return image


def render_background(spec: ClipSpec) -> np.ndarray:
    w, h = spec.width, spec.height
    if spec.background == "plain":
        return np.full((h, w, 3), 128, dtype=np.uint8)
    rng = np.random.default_rng(spec.seed)
    if spec.background == "texture":
        return _render_texture(w, h, rng)
    rows = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, np.newaxis, np.newaxis]
    sky = np.array([110, 170, 230], np.float32)
    haze = np.array([200, 225, 240], np.float32)
    image = Image.fromarray((sky * (1 - rows) + haze * rows).repeat(w, axis=1).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    horizon = int(h * 0.62)
    # rolling hills, a sun, trees and stones, in colours far from the mascot's red
    for k in range(3):
        cx = int(w * (0.15 + 0.35 * k))
        draw.ellipse(
            (cx - w // 3, horizon - h // 6, cx + w // 3, horizon + h // 3),
            fill=(70, 140 - 20 * k, 70),
        )
    draw.rectangle((0, horizon + h // 10, w, h), fill=(90, 120, 60))
    draw.ellipse(
        (int(w * 0.82), int(h * 0.06), int(w * 0.92), int(h * 0.06) + w // 10), fill=(250, 230, 150)
    )
    for _ in range(6):
        tx = int(rng.integers(0, w))
        ty = int(rng.integers(horizon - h // 10, horizon + h // 8))
        r = max(4, h // 20)
        draw.rectangle((tx - r // 4, ty, tx + r // 4, ty + 2 * r), fill=(100, 70, 40))
        draw.ellipse((tx - r, ty - 2 * r, tx + r, ty + r // 2), fill=(40, 110, 60))
    for _ in range(12):
        sx, sy = int(rng.integers(0, w)), int(rng.integers(horizon + h // 8, h))
        r = max(2, h // 60)
        draw.ellipse((sx - 2 * r, sy - r, sx + 2 * r, sy + r), fill=(150, 150, 140))
    noise = rng.normal(0.0, 6.0, (h, w, 1)).astype(np.float32)
    return np.clip(np.asarray(image, np.float32) + noise, 0, 255).astype(np.uint8)


def _render_texture(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Grass seen from above: detailed everywhere, with nothing that stands out from the rest."""
    coarse = rng.normal(0.0, 1.0, (h // 8 + 1, w // 8 + 1)).astype(np.float32)
    blotches = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC))
    grain = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    light = 0.5 + 0.12 * blotches + 0.08 * grain
    grass = np.array([80, 130, 60], np.float32)
    return np.clip(grass * light[..., np.newaxis] * 2, 0, 255).astype(np.uint8)


def render_sprite(spec: ClipSpec, mouth_open: bool) -> tuple[np.ndarray, np.ndarray]:
    """The mascot as (premultiplied RGB float32, alpha float32 HxWx1), about 1/3 frame high."""
    size = max(24, spec.height // 3)
    s = size * _SUPERSAMPLE
    canvas = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    body = spec.sprite_color
    darker = tuple(int(c * 0.6) for c in body)
    lighter = tuple(int(c + (255 - c) * 0.45) for c in body)

    def oval(cx: float, cy: float, rx: float, ry: float, fill: tuple[int, ...]) -> None:
        draw.ellipse((s * (cx - rx), s * (cy - ry), s * (cx + rx), s * (cy + ry)), fill=fill)

    draw.line((s * 0.5, s * 0.12, s * 0.56, s * 0.04), fill=darker, width=max(1, s // 40))
    oval(0.56, 0.04, 0.035, 0.035, (250, 210, 40))  # antenna bulb
    oval(0.09, 0.6, 0.06, 0.045, darker)  # arms
    oval(0.91, 0.6, 0.06, 0.045, darker)
    oval(0.37, 0.94, 0.09, 0.045, darker)  # feet
    oval(0.63, 0.94, 0.09, 0.045, darker)
    oval(0.5, 0.52, 0.37, 0.42, body)
    oval(0.5, 0.75, 0.12, 0.09, lighter)  # belly patch
    for ex in (0.39, 0.61):
        oval(ex, 0.38, 0.07, 0.08, (255, 255, 255))
        oval(ex + 0.01, 0.39, 0.032, 0.038, (20, 20, 30))
    oval(0.5, 0.56, 0.09, 0.05 if mouth_open else 0.016, (70, 10, 20))
    small = canvas.resize((size, size), Image.Resampling.LANCZOS)
    rgba = np.asarray(small, np.float32) / 255.0
    alpha = rgba[:, :, 3:4]
    return rgba[:, :, :3] * 255.0 * alpha, alpha


def _alpha_bbox(alpha: np.ndarray) -> Box:
    ys, xs = np.nonzero(alpha[:, :, 0] > 0.5)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)
