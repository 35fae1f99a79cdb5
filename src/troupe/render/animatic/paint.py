"""Drawing scene layers: antialiased shapes on premultiplied RGBA canvases that tile
horizontally, then light, haze, glowing lights and the palette's colour grade, once per video.

OpenCV's antialiased drawing on a transparent 4-channel canvas blends every channel, alpha
included, so the canvas holds premultiplied colour without further work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

RGB = tuple[int, int, int]
Gain = tuple[float, float, float]
Points = Sequence[tuple[float, float]] | np.ndarray

_SHIFT = 4  # OpenCV's fixed-point bits: shapes land on sixteenths of a pixel
_ONE = 1 << _SHIFT

# palette word -> (colour, share) the scene is tinted towards
_TINTS: dict[str, tuple[RGB, float]] = {
    "pink": ((255, 140, 200), 0.25),
    "neon": ((200, 60, 255), 0.12),
    "golden": ((255, 196, 90), 0.25),
    "warm": ((255, 170, 90), 0.12),
    "cool": ((90, 150, 255), 0.12),
    "blue": ((60, 110, 255), 0.2),
    "purple": ((150, 80, 230), 0.2),
    "red": ((230, 50, 50), 0.2),
    "orange": ((255, 140, 40), 0.2),
    "green": ((60, 200, 90), 0.2),
    "teal": ((40, 200, 200), 0.2),
    "yellow": ((255, 230, 60), 0.2),
    "sepia": ((230, 190, 140), 0.35),
}
_SATURATION = {"neon": 1.6, "pastel": 0.55, "monochrome": 0.0, "vibrant": 1.4, "sepia": 0.0}
_WHITEN = {"pastel": 0.3}
_BRIGHTNESS = {"dark": 0.7}
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class Layer:
    """A finished layer: premultiplied RGBA (four channels warp faster than three), at `depth`
    (0 the sky, 1 the ground the characters stand on), moving `drift` px/s on its own."""

    rgba: np.ndarray  # (H, width, 4) uint8
    depth: float
    drift: float
    rows: tuple[int, int]  # [first, last) rows that hold anything
    solid: tuple[int, int]  # the longest run of rows opaque all across: no blending there
    tiles: bool = True  # repeats horizontally; otherwise its edges mirror
    origin: float = 0.0  # canvas x seen at the frame's left edge with the camera at rest


class Canvas:
    """A layer being drawn, `width` wide (its horizontal period) and the frame's height.

    Shapes near an edge are drawn again one period over, so the layer tiles seamlessly.
    Shapes drawn with `glow=True` go to a second canvas of lights, which stay bright whatever
    the time of day and get a halo when the layer is finished."""

    def __init__(self, width: int, height: int) -> None:
        self.image = np.zeros((height, width, 4), np.uint8)
        self.lights = np.zeros_like(self.image)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def _targets(self, glow: bool) -> tuple[np.ndarray, tuple[int, ...]]:
        return (self.lights if glow else self.image), (-self.width, 0, self.width)

    def polygon(self, points: Points, colour: RGB, glow: bool = False) -> None:
        target, shifts = self._targets(glow)
        fixed = np.round(np.asarray(points, np.float64) * _ONE).astype(np.int32)
        for dx in shifts:
            moved = fixed + np.array([dx * _ONE, 0], np.int32)
            cv2.fillPoly(target, [moved], (*colour, 255), cv2.LINE_AA, _SHIFT)

    def ellipse(
        self,
        centre: tuple[float, float],
        axes: tuple[float, float],
        colour: RGB,
        angle: float = 0.0,
        glow: bool = False,
    ) -> None:
        target, shifts = self._targets(glow)
        size = (max(1, round(axes[0] * _ONE)), max(1, round(axes[1] * _ONE)))
        for dx in shifts:
            at = (round((centre[0] + dx) * _ONE), round(centre[1] * _ONE))
            cv2.ellipse(target, at, size, angle, 0, 360, (*colour, 255), -1, cv2.LINE_AA, _SHIFT)

    def rect(
        self, x0: float, y0: float, x1: float, y1: float, colour: RGB, glow: bool = False
    ) -> None:
        self.polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour, glow)

    def line(self, points: Points, colour: RGB, thickness: float, glow: bool = False) -> None:
        target, shifts = self._targets(glow)
        fixed = np.round(np.asarray(points, np.float64) * _ONE).astype(np.int32)
        width = max(1, round(thickness))
        for dx in shifts:
            moved = fixed + np.array([dx * _ONE, 0], np.int32)
            cv2.polylines(target, [moved], False, (*colour, 255), width, cv2.LINE_AA, _SHIFT)

    def arc(
        self,
        centre: tuple[float, float],
        axes: tuple[float, float],
        angle: float,
        span: tuple[float, float],
        colour: RGB,
        thickness: float,
    ) -> None:
        """Part of an ellipse's outline, from span[0] to span[1] degrees."""
        target, shifts = self._targets(False)
        size = (max(1, round(axes[0] * _ONE)), max(1, round(axes[1] * _ONE)))
        width = max(1, round(thickness))
        for dx in shifts:
            at = (round((centre[0] + dx) * _ONE), round(centre[1] * _ONE))
            cv2.ellipse(target, at, size, angle, *span, (*colour, 255), width, cv2.LINE_AA, _SHIFT)

    def brighten(self, points: Points, colour: RGB) -> None:
        """Add `colour` inside the polygon, as a shaft of light does (opaque areas only)."""
        light = np.zeros_like(self.image)
        fixed = np.round(np.asarray(points, np.float64) * _ONE).astype(np.int32)
        for dx in (-self.width, 0, self.width):
            moved = fixed + np.array([dx * _ONE, 0], np.int32)
            cv2.fillPoly(light, [moved], (*colour, 0), cv2.LINE_AA, _SHIFT)
        cv2.add(self.image, light, self.image)

    def gradient(self, y0: int, y1: int, top: RGB, bottom: RGB) -> None:
        """Fill rows [y0, y1) opaquely, blending from `top` to `bottom`."""
        n = max(1, y1 - y0)
        u = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
        band = np.array(top, np.float32) * (1 - u) + np.array(bottom, np.float32) * u
        self.image[y0:y1, :, :3] = np.round(band).astype(np.uint8)[:, None, :]
        self.image[y0:y1, :, 3] = 255


@dataclass(frozen=True)
class Finish:
    """How a canvas becomes a layer: the light falling on it, a haze towards a colour (share
    0..1, for distance and fog), the palette words, and the lights' halo radius."""

    light: Gain = (1.0, 1.0, 1.0)
    haze: tuple[RGB, float] = ((0, 0, 0), 0.0)
    palette: tuple[str, ...] = ()
    halo: float = 8.0


def finish(
    canvas: Canvas,
    finishing: Finish,
    depth: float,
    drift: float = 0.0,
    opaque: bool = False,
    additive: bool = False,
) -> Layer:
    """Light, haze, lights with their halo, and grade: a Layer ready for compositing.

    An additive layer keeps its colour but no coverage: it only brightens what lies behind."""
    image = canvas.image.astype(np.float32)
    alpha = image[:, :, 3:] / 255.0
    rgb: np.ndarray = image[:, :, :3] * np.array(finishing.light, np.float32)
    colour, share = finishing.haze
    if share > 0:
        rgb = rgb * (1 - share) + np.array(colour, np.float32) * alpha * share
    if canvas.lights.any():
        rgb, alpha = _add_lights(rgb, alpha, canvas.lights, finishing.halo)
    rgb = grade(rgb, alpha, finishing.palette)
    coverage = np.zeros_like(alpha) if additive else alpha
    rgba = np.clip(np.concatenate([rgb, coverage * 255.0], axis=2), 0, 255).astype(np.uint8)
    if opaque:
        rgba[:, :, 3] = 255
    return layer(rgba, depth, drift)


def layer(
    rgba: np.ndarray, depth: float, drift: float = 0.0, tiles: bool = True, origin: float = 0.0
) -> Layer:
    """A Layer of premultiplied RGBA, with the rows it covers and those it hides measured."""
    filled = np.flatnonzero(rgba.any(axis=(1, 2)))
    rows = (int(filled[0]), int(filled[-1]) + 1) if len(filled) else (0, 0)
    return Layer(rgba, depth, drift, rows, _longest_run(rgba[:, :, 3].min(axis=1) == 255))


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """[start, end) of the longest run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    if len(starts) == 0:
        return 0, 0
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best])


def _add_lights(
    rgb: np.ndarray, alpha: np.ndarray, lights: np.ndarray, halo: float
) -> tuple[np.ndarray, np.ndarray]:
    glow = lights.astype(np.float32)
    glow_alpha = glow[:, :, 3:] / 255.0
    rgb = glow[:, :, :3] + rgb * (1 - glow_alpha)
    alpha = glow_alpha + alpha * (1 - glow_alpha)
    # additive light: colour with no coverage brightens whatever lies behind
    return rgb + 0.9 * _halo(glow[:, :, :3], halo), alpha


def _halo(light: np.ndarray, radius: float) -> np.ndarray:
    """A wide soft blur, computed at a quarter of the size: a halo has no detail to lose."""
    h, w = light.shape[:2]
    small = cv2.resize(light, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    pad = int(3 * radius / 4) + 1
    wrapped = cv2.copyMakeBorder(small, 0, 0, pad, pad, cv2.BORDER_WRAP)
    blurred = cv2.GaussianBlur(wrapped, (0, 0), radius / 4)[:, pad : pad + w // 4]
    return cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR)


def grade(rgb: np.ndarray, alpha: np.ndarray, palette: Sequence[str]) -> np.ndarray:
    """The palette words' look on premultiplied float colour: saturation, whitening, tint and
    brightness, in the order the words come."""
    for word in palette:
        if word in _SATURATION:
            luma = (rgb @ _LUMA)[:, :, None]
            rgb = luma + (rgb - luma) * _SATURATION[word]
        if word in _WHITEN:
            rgb = rgb + (255.0 * alpha - rgb) * _WHITEN[word]
        if word in _TINTS:
            colour, share = _TINTS[word]
            rgb = rgb * (1 - share) + np.array(colour, np.float32) * alpha * share
        if word in _BRIGHTNESS:
            rgb = rgb * _BRIGHTNESS[word]
    return rgb


def grade_colour(colour: RGB, palette: Sequence[str]) -> RGB:
    """One opaque colour graded like a layer (for particles and fog)."""
    pixel = np.array(colour, np.float32).reshape(1, 1, 3)
    graded = grade(pixel, np.ones((1, 1, 1), np.float32), palette)
    r, g, b = (int(c) for c in np.clip(np.round(graded[0, 0]), 0, 255))
    return r, g, b


def mix(a: RGB, b: RGB, share: float) -> RGB:
    """`a` moved `share` of the way to `b`."""
    r, g, bl = (round(x + (y - x) * share) for x, y in zip(a, b, strict=True))
    return r, g, bl


def soft_noise(rng: np.random.Generator, width: int, height: int, cell: int) -> np.ndarray:
    """Smooth noise in [0, 1], (height, width), with blobs about `cell` px across, tiling
    horizontally: a coarse grid enlarged three periods wide, of which the middle is kept."""
    cols, rows = max(2, round(width / cell)), max(2, round(height / cell))
    coarse = np.tile(rng.random((rows, cols)).astype(np.float32), (1, 3))
    big = cv2.resize(coarse, (3 * width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(big[:, width : 2 * width], 0.0, 1.0)
