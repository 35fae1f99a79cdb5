"""Per-frame compositing: move each scene layer for the camera, blend it in only over the
rows it covers, then weather, shadows and the characters' cut-outs in their bounding boxes.

All per-frame work is OpenCV on uint8 images (affine warps, saturating multiply and add over
premultiplied colour); nothing does float math over the whole frame. Everything, the frame
included, has four channels: OpenCV warps four channels faster than three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from troupe.render.animatic.motion import (
    SKATEBOARD_HEIGHT,
    CameraPose,
    Choreography,
    Pose,
    layer_view,
)
from troupe.render.animatic.paint import Gain, Layer
from troupe.render.animatic.scene import Scene
from troupe.render.animatic.weather import Particles, draw_particles
from troupe.render.clip import Plate

# Cut-outs are prepared this much taller than their slot, so zooming in does not enlarge them.
PREPARED_SCALE = 1.25
_SHADOW_OPACITY = 0.35
# Silhouettes are compared at this square size: enough for an arm or a stray piece of scenery.
_SILHOUETTE_SIDE = 64
_WARP = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP


@dataclass(frozen=True)
class Cutout:
    """A character ready to draw: premultiplied RGBA cropped to the subject; its feet are the
    bottom centre. `height` is the slot height it was prepared for."""

    rgba: np.ndarray  # (h, w, 4) uint8
    height: float


def read_cutout(path: Path) -> np.ndarray:
    """An RGBA cut-out cropped to its subject (alpha above a trace)."""
    with Image.open(path) as image:
        rgba = np.asarray(image.convert("RGBA"))
    ys, xs = np.nonzero(rgba[:, :, 3] > 8)
    if len(ys) == 0:
        raise ValueError(f"the cut-out {path.name} is empty")
    return np.ascontiguousarray(rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def typical_cutout(cutouts: list[np.ndarray]) -> np.ndarray:
    """The cut-out whose silhouette agrees best with the others' (the medoid by IoU), the
    earliest on a tie: a reference whose mask lost a limb, or took in a piece of scenery, is
    the one least like the rest. The demo's mascot: its best frame's mask lost both arms."""
    silhouettes = [
        cv2.resize(
            (c[:, :, 3] > 127).astype(np.uint8),
            (_SILHOUETTE_SIDE, _SILHOUETTE_SIDE),
            interpolation=cv2.INTER_AREA,
        ).astype(bool)
        for c in cutouts
    ]

    def agreement(index: int) -> float:
        mine = silhouettes[index]
        return sum(
            float((mine & other).sum()) / max(1, int((mine | other).sum())) for other in silhouettes
        )

    return cutouts[max(range(len(cutouts)), key=lambda i: (agreement(i), -i))]


def aspect(rgba: np.ndarray) -> float:
    """Width over height."""
    return rgba.shape[1] / rgba.shape[0]


def prepare_cutout(rgba: np.ndarray, height: float, light: Gain) -> Cutout:
    """Scale to PREPARED_SCALE x `height`, light it and premultiply, once per video."""
    h, w = rgba.shape[:2]
    target_h = max(2, round(height * PREPARED_SCALE))
    target_w = max(2, round(w * target_h / h))
    shrinking = target_h < h
    scaled = cv2.resize(
        rgba, (target_w, target_h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    )
    alpha = scaled[:, :, 3:].astype(np.float32) / 255.0
    rgb = scaled[:, :, :3].astype(np.float32) * np.array(light, np.float32) * alpha
    premultiplied = np.concatenate([np.clip(np.round(rgb), 0, 255), alpha * 255.0], axis=2)
    return Cutout(rgba=np.round(premultiplied).astype(np.uint8), height=height)


def skateboard(width: float, height: float) -> Cutout:
    """A board `width` long whose wheels' bottom is its feet line, `height` tall in all."""
    w, h = max(8, round(width * PREPARED_SCALE)), max(6, round(height * PREPARED_SCALE))
    image = np.zeros((h, w, 4), np.uint8)
    deck = max(2, round(h * 0.45))
    cv2.rectangle(image, (deck // 2, 0), (w - 1 - deck // 2, deck), (170, 60, 40, 255), -1)
    for end in (deck // 2, w - 1 - deck // 2):
        cv2.circle(image, (end, deck // 2), deck // 2, (170, 60, 40, 255), -1, cv2.LINE_AA)
    radius = max(2, round(h * 0.28))
    for x in (round(w * 0.2), round(w * 0.8)):
        cv2.circle(image, (x, h - radius - 1), radius, (240, 230, 200, 255), -1, cv2.LINE_AA)
    return prepare_cutout(image, height, (1.0, 1.0, 1.0))


def _shadow_stamp() -> np.ndarray:
    stamp = np.zeros((32, 128), np.uint8)
    cv2.ellipse(stamp, (64, 16), (52, 10), 0, 0, 360, 255, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(stamp, (0, 0), 4)


class Moves(Protocol):
    """A character's look changing over time (its own motion, a posed body): the cut-out to
    draw at `t` seconds, prepared like `Actor.cutout`, its feet at its bottom centre."""

    def at(self, t: float) -> Cutout: ...


@dataclass(frozen=True)
class Actor:
    """A character on screen: its cut-out (or its moves, drawn instead), and its board when it
    skates."""

    cutout: Cutout
    board: Cutout | None = None
    moves: Moves | None = None

    def look(self, t: float) -> Cutout:
        return self.moves.at(t) if self.moves is not None else self.cutout


class Compositor:
    """Draws the frames of one video; `frame(t)` reuses one buffer, so consume each frame
    before asking for the next."""

    def __init__(
        self,
        scene: Scene,
        actors: list[Actor],
        choreography: Choreography,
        particles: Particles | None,
        size: tuple[int, int],
        plate: Plate | None = None,
    ) -> None:
        self.scene = scene
        self.plate = plate  # a clip drawn instead of the scene's layers
        self.actors = actors
        self.choreography = choreography
        self.particles = particles
        self.width, self.height = size
        self.buffer = np.zeros((self.height, self.width, 4), np.uint8)
        self.shadow = _shadow_stamp()
        self.plates = [_unrolled(layer, self.width) for layer in scene.layers]

    def frame(self, t: float) -> np.ndarray:
        """The frame at `t` seconds: (height, width, 4) uint8, RGB and a channel to ignore."""
        camera = self.choreography.camera.at(t)
        centre = self.choreography.camera.centre
        frame = self.buffer
        if self.plate is not None:
            np.copyto(frame, self.plate.at(t))
        else:
            self._draw_scene(frame, camera, centre, t)
        if self.particles is not None:
            draw_particles(frame, self.particles, t, front=False)
        poses = self.choreography.poses(t)
        order = sorted(range(len(poses)), key=lambda i: poses[i].ground)
        for i in order:
            self._draw_shadow(frame, self.actors[i].cutout, poses[i], camera, centre)
        for i in order:
            self._draw_actor(frame, self.actors[i], poses[i], camera, centre, t)
        if self.particles is not None:
            draw_particles(frame, self.particles, t, front=True)
        return frame

    def _draw_scene(
        self, frame: np.ndarray, camera: CameraPose, centre: tuple[float, float], t: float
    ) -> None:
        """Every layer, back to front; rows that nearer layers hide entirely are not drawn."""
        views = [_view(layer, camera, centre, t, self.height) for layer in self.scene.layers]
        hidden: list[tuple[int, int]] = []
        shown = []
        for view in reversed(views):
            shown.append(_uncovered(view.rows, hidden))
            hidden.append(view.solid)  # (0, 0) where it fills no row: it hides nothing
        for layer, plate, view, spans in zip(
            self.scene.layers, self.plates, views, reversed(shown), strict=True
        ):
            border = cv2.BORDER_REPLICATE if layer.tiles else cv2.BORDER_REFLECT_101
            for start, end in spans:
                s0, s1 = max(view.solid[0], start), min(view.solid[1], end)
                if s1 <= s0:
                    s0 = s1 = end
                for rows, solid in (((start, s0), False), ((s0, s1), True), ((s1, end), False)):
                    if rows[1] > rows[0]:
                        _warp_rows(frame, plate, view.inverse, rows, border, solid)

    def _screen(
        self, x: float, y: float, camera: CameraPose, centre: tuple[float, float]
    ) -> tuple[float, float]:
        """Frame position of a point on the characters' (the ground's) plane."""
        cx, cy = centre
        return camera.zoom * (x - camera.x - cx) + cx, camera.zoom * (y - cy) + cy

    def _draw_shadow(
        self,
        frame: np.ndarray,
        cutout: Cutout,
        pose: Pose,
        camera: CameraPose,
        centre: tuple[float, float],
    ) -> None:
        if pose.shadow <= 0:
            return
        sx, sy = self._screen(pose.x, pose.ground, camera, centre)
        shrink = 1.0 / (1.0 + pose.lift / cutout.height)
        width = 0.8 * cutout.rgba.shape[1] / PREPARED_SCALE * camera.zoom * pose.scale * shrink
        w, h = round(width), round(width * 0.18)
        x0, y0 = round(sx - w / 2), round(sy - h / 2)
        box = _clip_box(x0, y0, w, h, self.width, self.height)
        if box is None or w < 4 or h < 2:
            return
        stamp = cv2.resize(self.shadow, (w, h), interpolation=cv2.INTER_AREA)
        bx0, by0, bx1, by1 = box
        part = stamp[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
        opacity = _SHADOW_OPACITY * min(1.0, pose.shadow)
        darken(frame[by0:by1, bx0:bx1], part, opacity)

    def _draw_actor(
        self,
        frame: np.ndarray,
        actor: Actor,
        pose: Pose,
        camera: CameraPose,
        centre: tuple[float, float],
        t: float,
    ) -> None:
        scale = camera.zoom * pose.scale / PREPARED_SCALE
        feet = self._screen(pose.x, pose.ground - pose.lift, camera, centre)
        if actor.board is not None:
            board_feet = self._screen(
                pose.x,
                pose.ground - pose.lift + SKATEBOARD_HEIGHT * actor.cutout.height,
                camera,
                centre,
            )
            place(frame, actor.board, board_feet, (scale, scale), pose.angle, 0.5)
        stretch = math.sqrt(pose.stretch)
        cutout = actor.look(t)
        place(frame, cutout, feet, (scale / stretch, scale * stretch), pose.angle, pose.pivot)


@dataclass(frozen=True)
class _View:
    """Where a layer lands in one frame: the map from frame to plate pixels, and the frame
    rows it covers and those it fills opaquely (bilinear edges excluded)."""

    inverse: np.ndarray  # 2x3
    rows: tuple[int, int]
    solid: tuple[int, int]


def _view(
    layer: Layer, camera: CameraPose, centre: tuple[float, float], t: float, height: int
) -> _View:
    offset, zoom = layer_view(camera, layer.depth)
    cx, cy = centre
    x0 = layer.origin + offset + layer.drift * t + cx - cx / zoom
    if layer.tiles:
        x0 %= layer.rgba.shape[1]
    inverse = np.array([[1 / zoom, 0.0, x0], [0.0, 1 / zoom, cy - cy / zoom]], np.float64)

    def row(r: float) -> float:
        return zoom * (r - cy) + cy

    top, bottom = layer.rows
    rows = (max(0, math.floor(row(top - 1))), min(height, math.ceil(row(bottom)) + 1))
    a, b = layer.solid
    solid = (max(0, math.ceil(row(a))), min(height, math.floor(row(b - 1)) + 1))
    return _View(inverse, rows, solid if b > a else (0, 0))


def _uncovered(span: tuple[int, int], covers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of the row span [start, end) that no cover [start, end) overlaps, in order."""
    parts = [span]
    for c0, c1 in covers:
        parts = [
            piece
            for p0, p1 in parts
            for piece in ((p0, min(p1, c0)), (max(p0, c1), p1))
            if piece[1] > piece[0]
        ]
    return parts


def _warp_rows(
    frame: np.ndarray,
    plate: np.ndarray,
    inverse: np.ndarray,
    rows: tuple[int, int],
    border: int,
    solid: bool,
) -> None:
    """Warp the plate into frame rows [start, end): copied where solid, blended elsewhere."""
    start, end = rows
    shifted = inverse.copy()
    shifted[1, 2] += start * inverse[1, 1]
    band = frame[start:end]
    size = (frame.shape[1], end - start)
    if solid:
        cv2.warpAffine(plate, shifted, size, dst=band, flags=_WARP, borderMode=border)
    else:
        blend(band, cv2.warpAffine(plate, shifted, size, flags=_WARP, borderMode=border))


def _unrolled(layer: Layer, width: int) -> np.ndarray:
    """A tiling layer with its first frame width (and a little) copied after its end, so that
    every view starting inside one period lies within the array: OpenCV's warp takes a slow
    path for every pixel it must fetch across a border, which made wrapping 5x slower."""
    if not layer.tiles:
        return layer.rgba
    return np.concatenate([layer.rgba, layer.rgba[:, : width + 4]], axis=1)


def place(
    frame: np.ndarray,
    cutout: Cutout,
    feet: tuple[float, float],
    scale: tuple[float, float],
    angle: float,
    pivot: float,
) -> None:
    """Draw the cut-out with its feet at `feet` (frame px), scaled (x, y), turned `angle`
    degrees counter-clockwise about the point `pivot` of its height above its feet."""
    h, w = cutout.rgba.shape[:2]
    matrix = _placement(w, h, feet, scale, angle, pivot)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ matrix.T
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    frame_h, frame_w = frame.shape[:2]
    box = _clip_box(int(x0), int(y0), int(x1 - x0), int(y1 - y0), frame_w, frame_h)
    if box is None:
        return
    bx0, by0, bx1, by1 = box
    shifted = matrix.copy()
    shifted[:, 2] -= (bx0, by0)
    size = (bx1 - bx0, by1 - by0)
    blend(
        frame[by0:by1, bx0:bx1], cv2.warpAffine(cutout.rgba, shifted, size, flags=cv2.INTER_LINEAR)
    )


def _placement(
    w: int,
    h: int,
    feet: tuple[float, float],
    scale: tuple[float, float],
    angle: float,
    pivot: float,
) -> np.ndarray:
    """2x3 map from cut-out pixels to frame pixels (see `place`)."""
    a = math.radians(angle)
    rotation = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    linear = rotation @ np.diag(scale)
    pivot_offset = np.array([0.0, -scale[1] * pivot * h])
    image_feet = np.array([w / 2, float(h)])
    shift = np.array(feet) + pivot_offset - rotation @ pivot_offset - linear @ image_feet
    return np.column_stack([linear, shift])


def _clip_box(
    x: int, y: int, w: int, h: int, width: int, height: int
) -> tuple[int, int, int, int] | None:
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def blend(dst: np.ndarray, rgba: np.ndarray) -> None:
    """dst = rgba + dst * (1 - alpha), in place: "over" for premultiplied uint8 RGBA."""
    keep = cv2.cvtColor(cv2.bitwise_not(cv2.extractChannel(rgba, 3)), cv2.COLOR_GRAY2RGBA)
    cv2.multiply(dst, keep, dst, scale=1 / 255)
    cv2.add(dst, rgba, dst)


def darken(dst: np.ndarray, alpha: np.ndarray, opacity: float) -> None:
    """dst *= 1 - opacity * alpha, in place."""
    keep = 255 - cv2.convertScaleAbs(alpha, alpha=opacity)
    cv2.multiply(dst, cv2.cvtColor(keep, cv2.COLOR_GRAY2RGBA), dst, scale=1 / 255)
