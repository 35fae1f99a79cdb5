"""Labelled evaluation footage: H.264 clips of mascots, stickers cut from photos, a package and a
toy over textures and scenes, with static, panning, zooming and occluded shots and exact boxes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from troupe.media.synthetic import ClipSpec, render_background, render_sprite

Box = tuple[int, int, int, int]
# premultiplied RGB float32 HxWx3 and alpha float32 HxWx1
Sprite = tuple[np.ndarray, np.ndarray]

# Bump when drawing changes, so cached clips are rebuilt.
VERSION = 1
SUPERSAMPLE = 4
# The world the camera looks at is this much larger than the frame, room to pan and zoom.
WORLD_MARGIN = 1.4
OCCLUDER_SECONDS = 0.7
NOISE_SIGMA = 3.0


@dataclass(frozen=True)
class FootageSpec:
    """One clip to draw. subject None draws the background alone (expected: no subject)."""

    name: str
    subject: str | None
    background: str
    camera: str = "static"  # static | pan | zoom | handheld
    motion: str = "walk"  # walk (crosses a third of the frame) | still (drifts a few pixels)
    width: int = 640
    height: int = 360
    seconds: float = 3.0
    fps: int = 24
    size: float = 0.45  # subject height / frame height
    occluder: bool = False  # a bar covers part of the subject, sliding away by 0.7 s
    human: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Clip:
    """An encoded clip and its truth: the subject's box per frame time, in source pixels."""

    name: str
    path: Path
    width: int
    height: int
    seconds: float
    human: bool
    expected: str  # "ok" | "no_subject"
    boxes: dict[float, Box]
    # share of the subject hidden by the occluder, for frames where it is hidden at all
    occluded: dict[float, float]

    def box_at(self, t: float) -> Box:
        """Truth at the frame nearest to time t."""
        return self.boxes[min(self.boxes, key=lambda k: abs(k - t))]

    def label(self) -> dict[str, object]:
        return {
            "name": self.name,
            "human": self.human,
            "expected": self.expected,
            "boxes": {f"{t:.6f}": list(b) for t, b in self.boxes.items()},
            "occluded": {f"{t:.6f}": v for t, v in self.occluded.items()},
        }


FOOTAGE: tuple[FootageSpec, ...] = (
    FootageSpec("mascot_scene_pan_720p", "mascot", "scene", "pan", width=1280, height=720),
    FootageSpec("cat_brick_walk", "cat", "brick", size=0.5),
    FootageSpec("coffee_grass_pan", "coffee", "grass", "pan", size=0.5),
    FootageSpec("rocket_gravel_still", "rocket", "gravel", motion="still", size=0.6),
    FootageSpec("package_wood_zoom", "package", "wood", "zoom", motion="still"),
    FootageSpec("duck_brick_occluded", "duck", "brick", motion="still", occluder=True),
    FootageSpec("cat_scene_zoom", "cat", "scene", "zoom", size=0.4),
    FootageSpec("package_gravel_pan_720p", "package", "gravel", "pan", width=1280, height=720),
    FootageSpec("mascot_grass_still", "blue_mascot", "grass", motion="still", size=0.35),
    FootageSpec("duck_wood_handheld", "duck", "wood", "handheld", size=0.35),
    FootageSpec("mascot_gravel_occluded_pan", "mascot", "gravel", "pan", occluder=True),
    FootageSpec("coffee_scene_still", "coffee", "scene", motion="still", size=0.4, seconds=2.0),
    FootageSpec("mascot_scene_closeup", "mascot", "scene", motion="still", size=0.8),
    FootageSpec("mascot_grass_small", "mascot", "grass", size=0.2, seconds=2.0),
    FootageSpec("astronaut_brick_walk", "astronaut", "brick", size=0.6, human=True),
    FootageSpec("cameraman_grass_pan", "cameraman", "grass", "pan", size=0.6, human=True),
    FootageSpec("empty_grass", None, "grass", seconds=2.0),
    FootageSpec("empty_brick_pan", None, "brick", "pan", seconds=2.0),
    FootageSpec("empty_scene_pan", None, "scene", "pan", seconds=2.0),
)


def iou(a: Box | list[int], b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / max(1, a[2] * a[3] + b[2] * b[3] - inter)


def build_footage(root: Path, names: list[str] | None = None) -> list[Clip]:
    """The labelled clips under `root`, drawn and encoded only where not already cached; two
    at a time, as NumPy, OpenCV and x264 release the GIL."""
    root.mkdir(parents=True, exist_ok=True)
    specs = [s for s in FOOTAGE if names is None or s.name in names]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda spec: _cached(root, spec), specs))


def _cached(root: Path, spec: FootageSpec) -> Clip:
    digest = hashlib.sha256(repr((VERSION, spec)).encode()).hexdigest()[:10]
    video, label = root / f"{spec.name}-{digest}.mp4", root / f"{spec.name}-{digest}.json"
    if not (video.exists() and label.exists()):
        clip = render_clip(video, spec)
        label.write_text(json.dumps(clip.label()))
        return clip
    saved = json.loads(label.read_text())
    return Clip(
        name=spec.name,
        path=video,
        width=spec.width,
        height=spec.height,
        seconds=spec.seconds,
        human=spec.human,
        expected=saved["expected"],
        boxes={float(t): (b[0], b[1], b[2], b[3]) for t, b in saved["boxes"].items()},
        occluded={float(t): float(v) for t, v in saved["occluded"].items()},
    )


def render_clip(path: Path, spec: FootageSpec) -> Clip:
    """Draw every frame, encode it as H.264 and return the truth measured from the alpha."""
    rng = np.random.default_rng(spec.seed)
    w, h = spec.width, spec.height
    world = BACKGROUNDS[spec.background](round(w * WORLD_MARGIN), round(h * WORLD_MARGIN), rng)
    world_f = world.astype(np.float32)
    sprite = SUBJECTS[spec.subject](round(spec.size * h)) if spec.subject else None
    noise = rng.normal(0.0, NOISE_SIGMA, (3, h, w, 3)).astype(np.float32)
    boxes: dict[float, Box] = {}
    occluded: dict[float, float] = {}
    bar: tuple[float, int] | None = None
    with _Writer(path, w, h, spec.fps) as writer:
        for i in range(round(spec.seconds * spec.fps)):
            t = round(i / spec.fps, 6)
            camera = _camera(spec, world.shape, t, rng)
            image = _warp(world_f, camera, w, h, cv2.BORDER_REFLECT)
            if sprite is not None:
                alpha = _place(image, sprite, _subject_pose(spec, world.shape, sprite, t), camera)
                boxes[t] = _alpha_box(alpha)
                if spec.occluder:
                    bar = bar or _occluder(boxes[t])
                    if (hidden := _occlude(image, alpha, bar, t)) > 0.0:
                        occluded[t] = hidden
            writer.write(np.clip(image + noise[i % 3], 0, 255).astype(np.uint8))
    return Clip(
        name=spec.name,
        path=path,
        width=w,
        height=h,
        seconds=spec.seconds,
        human=spec.human,
        expected="ok" if spec.subject else "no_subject",
        boxes=boxes,
        occluded=occluded,
    )


class _Writer:
    """H.264 yuv420p MP4 with a keyframe every two seconds, like phone video."""

    def __init__(self, path: Path, width: int, height: int, fps: int) -> None:
        self.out = av.open(str(path), "w", format="mp4")
        stream = self.out.add_stream("libx264", rate=fps, options={"preset": "veryfast"})
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 2 * fps
        self.stream, self.fps, self.count = stream, fps, 0

    def write(self, image: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = self.count, Fraction(1, self.fps)
        self.out.mux(self.stream.encode(frame))
        self.count += 1

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.out.mux(self.stream.encode(None))
        self.out.close()


# --- camera and subject motion: 2x3 affine maps, frame -> world and sprite -> world ---


def _camera(
    spec: FootageSpec, world_shape: tuple[int, ...], t: float, rng: np.random.Generator
) -> np.ndarray:
    """Frame -> world map: where each frame pixel looks in the world at time t."""
    wh, ww = world_shape[:2]
    u = t / spec.seconds
    cx, cy, scale, angle = ww / 2, wh / 2, 1.0, 0.0
    if spec.camera == "pan":
        # Across most of the spare world width, with a slight tilt.
        cx += (u - 0.5) * 0.8 * (ww - spec.width)
        cy += (u - 0.5) * 0.3 * (wh - spec.height)
    elif spec.camera == "zoom":
        scale = 1.0 - 0.25 * u  # a slow push in: the subject grows by a third
        cx += 0.1 * u * spec.width
    elif spec.camera == "handheld":
        jitter = rng.normal(0.0, 1.0, 3)
        cx += 6.0 * math.sin(5.1 * t) + 1.5 * jitter[0]
        cy += 4.0 * math.sin(3.7 * t + 1.0) + 1.5 * jitter[1]
        angle = 0.6 * math.sin(2.3 * t) + 0.1 * jitter[2]
    return _similarity(scale, angle, (cx, cy), (spec.width / 2, spec.height / 2))


def _subject_pose(
    spec: FootageSpec, world_shape: tuple[int, ...], sprite: Sprite, t: float
) -> np.ndarray:
    """Sprite -> world map: a walk across the frame's view with a bob and a sway, or near
    stillness, in world pixels around the world centre."""
    wh, ww = world_shape[:2]
    sh, sw = sprite[1].shape[:2]
    u = t / spec.seconds
    if spec.motion == "walk":
        dx = (u - 0.5) * 0.35 * spec.width
        dy = 0.03 * spec.height * math.sin(2 * math.pi * 1.5 * t)
        angle = 4.0 * math.sin(2 * math.pi * 0.8 * t)
    else:
        dx, dy, angle = 3.0 * math.sin(2 * math.pi * 0.3 * t), 0.0, 1.0 * math.sin(2.0 * t)
    return _similarity(1.0, angle, (ww / 2 + dx, wh / 2 + dy), (sw / 2, sh / 2))


def _similarity(
    scale: float, degrees: float, to: tuple[float, float], around: tuple[float, float]
) -> np.ndarray:
    """Map `around` to `to`, rotating by `degrees` and scaling by `scale` about it."""
    a = math.radians(degrees)
    c, s = scale * math.cos(a), scale * math.sin(a)
    linear = np.array([[c, -s], [s, c]])
    offset = np.array(to) - linear @ np.array(around)
    return np.hstack([linear, offset[:, None]])


def _invert(affine: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.invertAffineTransform(affine), np.float64)


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """outer after inner, both 2x3."""
    return outer[:, :2] @ inner + np.hstack([np.zeros((2, 2)), outer[:, 2:]])


def _warp(image: np.ndarray, frame_to_src: np.ndarray, w: int, h: int, border: int) -> np.ndarray:
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(image, frame_to_src, (w, h), flags=flags, borderMode=border)


def _place(image: np.ndarray, sprite: Sprite, pose: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """Composite the sprite into the frame in place; return its alpha in frame pixels."""
    h, w = image.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    sh, sw = sprite[1].shape[:2]
    corners = np.array([[0, 0, 1], [sw, 0, 1], [0, sh, 1], [sw, sh, 1]], np.float64)
    placed = corners @ _compose(_invert(camera), pose).T
    x0, y0 = np.maximum(np.floor(placed.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(placed.max(axis=0)).astype(int) + 2, (w, h))
    if x1 <= x0 or y1 <= y0:
        return alpha
    # Warp into the sprite's own rectangle only: a whole-frame warp would cost far more.
    roi_to_sprite = _compose(_compose(_invert(pose), camera), _shift(x0, y0))
    colour = _warp(sprite[0], roi_to_sprite, x1 - x0, y1 - y0, cv2.BORDER_CONSTANT)
    a = _warp(sprite[1], roi_to_sprite, x1 - x0, y1 - y0, cv2.BORDER_CONSTANT)
    region = image[y0:y1, x0:x1]
    region *= 1.0 - a[:, :, None]
    region += colour
    alpha[y0:y1, x0:x1] = a
    return alpha


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])


def _alpha_box(alpha: np.ndarray) -> Box:
    x, y, w, h = cv2.boundingRect((alpha > 0.5).astype(np.uint8))
    return x, y, w, h


def _occluder(first_box: Box) -> tuple[float, int]:
    """Left edge and width of the bar at t=0: over the right part of the subject."""
    x, _, bw, _ = first_box
    return x + 0.55 * bw, max(8, round(0.35 * bw))


def _occlude(image: np.ndarray, alpha: np.ndarray, bar: tuple[float, int], t: float) -> float:
    """Draw the dark bar, sliding right out of the frame by OCCLUDER_SECONDS; return the share
    of the subject it hides."""
    start, width = bar
    w = image.shape[1]
    left = round(start + (w - start) * t / OCCLUDER_SECONDS)
    if left >= w:
        return 0.0
    right = min(w, left + width)
    image[:, left:right] = image[:, left:right] * 0.25 + np.array([40.0, 42.0, 48.0]) * 0.75
    return float(alpha[:, left:right].sum()) / max(float(alpha.sum()), 1e-6)


# --- subjects: (premultiplied RGB, alpha) about `height` pixels high ---


def _sticker(image: np.ndarray, mask: np.ndarray, height: int) -> Sprite:
    """The masked part of a photo, cropped to the mask and scaled to `height` pixels."""
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    alpha = mask[y : y + h, x : x + w].astype(np.float32)[:, :, None]
    rgb = image[y : y + h, x : x + w].astype(np.float32) * alpha
    size = (max(1, round(w * height / h)), height)
    # Premultiplied colour shrinks correctly; INTER_AREA leaves an antialiased edge.
    small_rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small_alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)[:, :, None]
    return small_rgb, small_alpha


def _ellipses(shape: tuple[int, ...], ellipses: list[tuple[int, int, int, int]]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    for cx, cy, rx, ry in ellipses:
        cv2.ellipse(mask, (cx, cy), (rx, ry), 0, 0, 360, 1, -1)
    return mask > 0


def _cat(height: int) -> Sprite:
    photo = data.chelsea()
    return _sticker(photo, _ellipses(photo.shape, [(222, 150, 195, 146)]), height)


def _coffee(height: int) -> Sprite:
    """Cup on its saucer, with the spoon."""
    photo = data.coffee()
    mask = _ellipses(photo.shape, [(278, 232, 203, 158), (291, 118, 122, 102)])
    return _sticker(photo, mask, height)


def _rocket(height: int) -> Sprite:
    photo = data.rocket()
    mask = np.zeros(photo.shape[:2], np.uint8)
    outline = [(322, 118), (340, 135), (350, 170), (350, 405), (296, 405), (296, 170), (304, 135)]
    cv2.fillPoly(mask, [np.array(outline, np.int32)], 1)
    return _sticker(photo, mask > 0, height)


def _astronaut(height: int) -> Sprite:
    photo = data.astronaut()
    return _sticker(photo, _ellipses(photo.shape, [(235, 262, 215, 262)]), height)


def _cameraman(height: int) -> Sprite:
    photo = np.dstack([data.camera()] * 3)
    return _sticker(photo, _ellipses(photo.shape, [(170, 300, 168, 240)]), height)


def _mascot(height: int, colour: tuple[int, int, int] = (230, 60, 40)) -> Sprite:
    """troupe's synthetic mascot (its sprite is a third of the clip height)."""
    clip_height = 2 * math.ceil(3 * height / 2)
    return render_sprite(ClipSpec(height=clip_height, sprite_color=colour), mouth_open=False)


def _drawn(
    height: int, aspect: float, draw: Callable[[ImageDraw.ImageDraw, int, int], None]
) -> Sprite:
    """Render a PIL drawing supersampled, then shrink it for antialiased edges."""
    h, w = height * SUPERSAMPLE, round(height * aspect) * SUPERSAMPLE
    canvas = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw(ImageDraw.Draw(canvas), w, h)
    small = canvas.resize((w // SUPERSAMPLE, h // SUPERSAMPLE), Image.Resampling.LANCZOS)
    rgba = np.asarray(small, np.float32) / 255.0
    alpha = np.clip(rgba[:, :, 3:4], 0.0, 1.0)
    return rgba[:, :, :3] * 255.0 * alpha, alpha


def _package(height: int) -> Sprite:
    """A cereal box in three-quarter view: front with a label and text, side and top faces."""

    def draw(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
        depth = round(0.22 * w)
        fx0, fy0, fx1, fy1 = 0, round(0.1 * h), w - depth, h - 1
        d.polygon([(fx1, fy0), (w - 1, 0), (w - 1, h - round(0.1 * h)), (fx1, fy1)], (150, 30, 40))
        d.polygon([(fx0, fy0), (depth, 0), (w - 1, 0), (fx1, fy0)], (235, 200, 90))
        d.rectangle((fx0, fy0, fx1, fy1), (200, 40, 50))
        d.rectangle((fx0, round(0.35 * h), fx1, round(0.62 * h)), (250, 245, 230))
        d.ellipse(
            (round(0.15 * w), round(0.66 * h), round(0.6 * w), round(0.95 * h)), (240, 180, 40)
        )
        font = ImageFont.load_default(size=max(8, round(0.15 * h)))
        d.text((round(0.06 * w), round(0.4 * h)), "OATY", fill=(30, 60, 150), font=font)
        small = ImageFont.load_default(size=max(6, round(0.05 * h)))
        d.text((round(0.06 * w), round(0.15 * h)), "crunchy whole grain", (255, 255, 255), small)

    return _drawn(height, 0.75, draw)


def _duck(height: int) -> Sprite:
    """A rubber duck toy."""

    def draw(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
        yellow, shade = (250, 210, 30), (220, 170, 20)
        d.ellipse((0, round(0.4 * h), w - 1, h - 1), yellow)  # body
        d.ellipse((round(0.3 * w), round(0.55 * h), round(0.75 * w), round(0.85 * h)), shade)
        d.ellipse((round(0.05 * w), 0, round(0.6 * w), round(0.58 * h)), yellow)  # head
        d.polygon(
            [
                (0, round(0.32 * h)),
                (round(0.12 * w), round(0.25 * h)),
                (round(0.14 * w), round(0.4 * h)),
            ],
            (240, 110, 20),
        )
        d.ellipse((round(0.2 * w), round(0.15 * h), round(0.3 * w), round(0.27 * h)), (20, 20, 20))
        d.ellipse(
            (round(0.23 * w), round(0.17 * h), round(0.26 * w), round(0.2 * h)), (255, 255, 255)
        )

    return _drawn(height, 1.1, draw)


SUBJECTS: dict[str, Callable[[int], Sprite]] = {
    "mascot": _mascot,
    "blue_mascot": lambda height: _mascot(height, (40, 90, 220)),
    "cat": _cat,
    "coffee": _coffee,
    "rocket": _rocket,
    "package": _package,
    "duck": _duck,
    "astronaut": _astronaut,
    "cameraman": _cameraman,
}


# --- backgrounds: RGB uint8 of the world size ---


def _tiled(texture: np.ndarray, w: int, h: int, tint: tuple[int, int, int]) -> np.ndarray:
    """A grey texture mirrored to cover w x h at a scale tied to the height, then tinted."""
    scale = h / 504.0  # a 640x360 frame's world shows the texture at its own size
    grey = cv2.resize(texture, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    reps = (math.ceil(h / grey.shape[0]), math.ceil(w / grey.shape[1]))
    mirrored = np.block([[grey, grey[:, ::-1]], [grey[::-1], grey[::-1, ::-1]]])
    tiled = np.tile(mirrored, (reps[0] // 2 + 1, reps[1] // 2 + 1))[:h, :w]
    light = tiled.astype(np.float32)[:, :, None] / 128.0
    return np.clip(light * np.array(tint, np.float32), 0, 255).astype(np.uint8)


def _wood(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """The table top of skimage's coffee photo, scaled up: soft, like a shallow focus."""
    table = data.coffee()[0:100, 425:600]
    return cv2.resize(table, (w, h), interpolation=cv2.INTER_CUBIC)


def _scene(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """troupe's synthetic hills, sun and trees."""
    spec = ClipSpec(width=w + w % 2, height=h + h % 2, seed=int(rng.integers(1 << 16)))
    return render_background(spec)[:h, :w]


BACKGROUNDS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "brick": lambda w, h, rng: _tiled(data.brick(), w, h, (190, 105, 80)),
    "grass": lambda w, h, rng: _tiled(data.grass(), w, h, (95, 150, 70)),
    "gravel": lambda w, h, rng: _tiled(data.gravel(), w, h, (150, 145, 135)),
    "wood": _wood,
    "scene": _scene,
}
