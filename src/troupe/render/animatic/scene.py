"""A scene from the plan: the sky, the place's layers, clouds and fog, lit for the time of day
and graded by the palette; or the caller's reference image as the background.

Built once per video; per frame the compositor only moves and blends these layers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from troupe.render.animatic.kit import Kit
from troupe.render.animatic.paint import (
    RGB,
    Canvas,
    Finish,
    Gain,
    Layer,
    finish,
    grade_colour,
    layer,
    mix,
    soft_noise,
)
from troupe.render.animatic.places import INDOOR, PAINTERS
from troupe.render.prompt import ScenePlan

_PERIOD = 2  # layers are this many frame widths wide before they repeat
_SKY_DEPTH = 0.05
_CLOUD_DEPTH = 0.12
_FOG_DEPTH = 0.8
_REFERENCE_DEPTH = 0.5
# A reference background is this much wider than the frame each side, for camera moves.
REFERENCE_MARGIN = 0.1
_NO_SKY = frozenset({"space", "underwater"}) | INDOOR
_INDOOR_LIGHTS: dict[str, Gain] = {
    "dawn": (0.95, 0.92, 0.9),
    "day": (1.0, 1.0, 1.0),
    "sunset": (0.95, 0.85, 0.75),
    "night": (0.8, 0.72, 0.62),
}
_PLACE_LIGHTS: dict[str, Gain] = {
    "stage": (0.7, 0.65, 0.7),
    "underwater": (0.8, 0.95, 1.05),
    "space": (0.9, 0.9, 1.0),
}
# Characters take only part of the scene's light: their colours must stay recognisable.
_SPRITE_LIGHT_SHARE = 0.3
FINISHING_THREADS = 2


@dataclass(frozen=True)
class Scene:
    """Layers back to front (the first is opaque) and the light the characters take."""

    layers: tuple[Layer, ...]
    sprite_light: Gain


def build_scene(
    plan: ScenePlan, size: tuple[int, int], rng: np.random.Generator, reference: Path | None
) -> Scene:
    """Draw the plan's scene for frames of `size` (width, height)."""
    width, height = size
    kit = Kit(width, height, _PERIOD * width, plan, rng)
    light = _light(kit)
    layers = [_reference_layer(reference, size)] if reference else _drawn_layers(kit, light)
    if plan.weather == "fog":
        fog = grade_colour((70, 75, 90) if kit.night else (205, 208, 212), plan.palette)
        layers.append(_fog_layer(kit, fog))
    sprite_light = _mix_gain(light, (1.0, 1.0, 1.0), 1 - _SPRITE_LIGHT_SHARE)
    return Scene(tuple(layers), sprite_light)


def _mix_gain(a: Gain, b: Gain, share: float) -> Gain:
    r, g, bl = (x + (y - x) * share for x, y in zip(a, b, strict=True))
    return r, g, bl


def _light(kit: Kit) -> Gain:
    place = kit.plan.place
    if place in _PLACE_LIGHTS:
        return _PLACE_LIGHTS[place]
    if place in INDOOR:
        return _INDOOR_LIGHTS[kit.plan.time_of_day]
    return kit.light()


def _drawn_layers(kit: Kit, light: Gain) -> list[Layer]:
    """Each layer painted in turn (the painters share the kit's random numbers), then finished
    two at a time: finishing is whole-canvas array work that releases the GIL, and it was
    three quarters of a render's set-up, with the second core idle until frames are drawn."""
    plan = kit.plan
    drafts = PAINTERS[plan.place](kit)
    haze_colour = kit.sky()[1]
    fog = 0.3 if plan.weather == "fog" else 0.0
    unfinished: list[Callable[[], Layer]] = []
    if not drafts[0].opaque:
        unfinished.append(_unfinished_sky(kit))
        if plan.place not in _NO_SKY:
            unfinished.append(_unfinished_clouds(kit))
    for draft in drafts:
        haze = min(0.9, draft.haze + fog * (1.0 - draft.depth + 0.2))
        finishing = Finish(light, (haze_colour, haze), plan.palette, kit.height / 90)
        unfinished.append(
            functools.partial(
                finish,
                draft.canvas,
                finishing,
                draft.depth,
                opaque=draft.opaque,
                additive=draft.additive,
            )
        )
    with ThreadPoolExecutor(
        max_workers=FINISHING_THREADS, thread_name_prefix="troupe-finish"
    ) as pool:
        return list(pool.map(lambda job: job(), unfinished))


# --- sky ----------------------------------------------------------------------------------


def _unfinished_sky(kit: Kit) -> Callable[[], Layer]:
    """The sky painted, and what finishes it into a layer."""
    canvas = kit.canvas()
    place = kit.plan.place
    if place == "space":
        _space_sky(kit, canvas)
    elif place == "underwater":
        _water_sky(kit, canvas)
    else:
        _open_sky(kit, canvas)
    finishing = Finish(palette=kit.plan.palette, halo=kit.height / 60)
    return functools.partial(finish, canvas, finishing, _SKY_DEPTH, opaque=True)


def _open_sky(kit: Kit, canvas: Canvas) -> None:
    top, horizon = kit.sky()
    h, w = kit.height, kit.width
    canvas.gradient(0, round(kit.horizon), top, horizon)
    canvas.gradient(round(kit.horizon), h, horizon, horizon)
    time = kit.plan.time_of_day
    if kit.overcast:
        return
    if time == "night":
        _stars(kit, canvas, 120, kit.horizon)
        canvas.ellipse((0.72 * w, 0.14 * h), (0.04 * h, 0.04 * h), (235, 235, 215), glow=True)
    elif time == "day":
        canvas.ellipse((0.78 * w, 0.13 * h), (0.05 * h, 0.05 * h), (255, 245, 200), glow=True)
    else:
        colour = (255, 190, 110) if time == "dawn" else (255, 150, 80)
        sun = (0.6 * w, kit.horizon - 0.06 * h)
        canvas.ellipse(sun, (0.08 * h, 0.08 * h), colour, glow=True)


def _stars(kit: Kit, canvas: Canvas, count: int, bottom: float) -> None:
    for _ in range(count):
        x, y = kit.uniform(0, kit.period), kit.uniform(0, bottom)
        r = kit.uniform(0.4, 1.4) * kit.height / 720
        canvas.ellipse((x, y), (r, r), (255, 255, 235), glow=True)


def _space_sky(kit: Kit, canvas: Canvas) -> None:
    canvas.gradient(0, kit.height, (3, 3, 12), (15, 10, 35))
    nebula = soft_noise(kit.rng, kit.period, kit.height, kit.height // 4) ** 3
    tint = np.array([140, 50, 170], np.float32) * nebula[:, :, None]
    sky = canvas.image[:, :, :3].astype(np.float32) + tint
    canvas.image[:, :, :3] = np.clip(sky, 0, 255).astype(np.uint8)
    _stars(kit, canvas, 400, kit.height)


def _water_sky(kit: Kit, canvas: Canvas) -> None:
    h = kit.height
    canvas.gradient(0, h, (60, 170, 210), (10, 60, 110))
    for x in kit.spread(5, 0.8):
        spread = kit.uniform(0.05, 0.12) * h
        ray = [(x - 0.02 * h, 0), (x + 0.02 * h, 0), (x + spread + 0.1 * h, 0.8 * h)]
        canvas.brighten([*ray, (x - spread + 0.1 * h, 0.8 * h)], (18, 30, 30))


def _unfinished_clouds(kit: Kit) -> Callable[[], Layer]:
    """The clouds painted, and what finishes them into a layer."""
    h = kit.height
    canvas = kit.canvas()
    time = kit.plan.time_of_day
    colour = {"night": (70, 75, 95), "day": (250, 250, 252)}.get(time, (255, 205, 190))
    if kit.overcast:
        colour = mix(colour, (150, 155, 165), 0.6)
    for x in kit.spread(9 if kit.overcast else 4, 0.6):
        y = kit.uniform(0.06, 0.3) * h
        size = kit.uniform(0.05, 0.09) * h
        for _ in range(5):
            dx, dy = kit.uniform(-1.5, 1.5) * size, kit.uniform(-0.3, 0.3) * size
            r = kit.uniform(0.6, 1.0) * size
            canvas.ellipse((x + dx, y + dy), (r * 1.3, r * 0.8), colour)
    drift = (0.02 if kit.plan.weather == "wind" else 0.005) * kit.width
    return functools.partial(
        finish, canvas, Finish(palette=kit.plan.palette), _CLOUD_DEPTH, drift=drift
    )


def _fog_layer(kit: Kit, colour: RGB) -> Layer:
    """Banks of fog over the lower frame, drifting; behind the characters, never over them."""
    h = kit.height
    noise = soft_noise(kit.rng, kit.period, h, h // 5)
    rows = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    # thickest just above the ground, fading upwards
    profile = np.clip((rows - 0.35) / 0.3, 0.0, 1.0) * np.clip((1.02 - rows) / 0.2, 0.0, 1.0)
    alpha = (np.clip(0.2 + 0.6 * noise, 0, 1) * profile * 0.7)[:, :, None]
    rgba = np.concatenate([np.array(colour, np.float32) * alpha, 255.0 * alpha], axis=2)
    return layer(np.round(rgba).astype(np.uint8), _FOG_DEPTH, drift=0.03 * kit.width)


# --- a reference image as the background ----------------------------------------------------


def _reference_layer(path: Path, size: tuple[int, int]) -> Layer:
    """The image, upright and cover-fitted to the frame plus a margin each side."""
    width, height = size
    margin = math.ceil(REFERENCE_MARGIN * width)
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    rgba = np.asarray(upright.convert("RGBA"))
    fitted = cover_fit(rgba, (width + 2 * margin, height))
    return layer(fitted, _REFERENCE_DEPTH, tiles=False, origin=float(margin))


def cover_fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale to cover `size` (width, height) and crop the centre: nothing stretched."""
    width, height = size
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    scaled = (max(width, round(w * scale)), max(height, round(h * scale)))
    shrinking = scale < 1
    resized = cv2.resize(
        image, scaled, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    )
    x0, y0 = (scaled[0] - width) // 2, (scaled[1] - height) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])
