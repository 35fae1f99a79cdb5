"""One painter per place: the layers behind the characters, back to front, as unlit drafts.

Painters draw surfaces in their daylight colours (`scene` lights, hazes and grades them) and
lamps, windows and stars with `glow=True`, which stay bright at night. Indoor places paint
their own opaque back wall; outdoor ones are drawn in front of the sky.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from troupe.render.animatic.kit import Kit
from troupe.render.animatic.paint import RGB, Canvas, mix


@dataclass(frozen=True)
class Draft:
    """A drawn layer before finishing: its depth and how much distance haze it takes."""

    canvas: Canvas
    depth: float
    haze: float = 0.0
    opaque: bool = False  # a back wall that replaces the sky
    additive: bool = False  # light only (beams): brightens what is behind, hides nothing


Painter = Callable[[Kit], list[Draft]]
INDOOR = frozenset({"kitchen", "room", "stage"})


# --- shared pieces ------------------------------------------------------------------------


def _ground(kit: Kit, top: RGB, bottom: RGB) -> Canvas:
    canvas = kit.canvas()
    canvas.gradient(round(kit.ground_top), kit.height, top, bottom)
    return canvas


def _speckle(kit: Kit, canvas: Canvas, colours: tuple[RGB, ...], count: int, size: float) -> None:
    """Small flecks over the ground: texture that shows the ground moving."""
    h = kit.height
    for _ in range(count):
        y = kit.uniform(kit.ground_top + 0.01 * h, h)
        # nearer (lower) flecks are bigger
        r = size * h * (0.5 + (y - kit.ground_top) / (h - kit.ground_top))
        x = kit.uniform(0, kit.period)
        canvas.ellipse((x, y), (r * 1.6, r * 0.6), kit.pick(colours))


def _ridge(kit: Kit, base: float, low: float, high: float, waves: int, sharp: bool) -> np.ndarray:
    """A skyline polygon across the period: sines whose periods divide it, so it tiles."""
    xs = np.linspace(0, kit.period, 400)
    heights = np.zeros_like(xs)
    for k in range(1, waves + 1):
        cycles = int(kit.rng.integers(1, 4)) * k
        phase = kit.uniform(0, 2 * math.pi)
        wave = np.sin(2 * math.pi * cycles * xs / kit.period + phase) / k
        heights += np.abs(wave) if sharp else wave
    span = heights.max() - heights.min()
    heights = (heights - heights.min()) / max(span, 1e-6)
    tops = base - (low + (high - low) * heights) * kit.height
    points = [(0.0, kit.below_ground), *zip(xs, tops, strict=True), (kit.period, kit.below_ground)]
    return np.array(points)


def _tree(kit: Kit, canvas: Canvas, x: float, foot: float, height: float, leaves: RGB) -> None:
    trunk = 0.06 * height
    canvas.rect(x - trunk / 2, foot - 0.75 * height, x + trunk / 2, foot, (95, 65, 40))
    top = foot - height
    for _ in range(7):
        cx = x + kit.uniform(-0.22, 0.22) * height
        cy = top + kit.uniform(0.12, 0.45) * height
        r = kit.uniform(0.14, 0.22) * height
        canvas.ellipse((cx, cy), (r, r), mix(leaves, (255, 255, 200), kit.uniform(0, 0.12)))


def _pine(kit: Kit, canvas: Canvas, x: float, foot: float, height: float, snow: bool) -> None:
    canvas.rect(x - 0.03 * height, foot - 0.2 * height, x + 0.03 * height, foot, (90, 60, 40))
    for i in range(4):
        top = foot - height + i * 0.2 * height
        half = (0.18 + 0.07 * i) * height
        base = top + 0.35 * height
        canvas.polygon([(x, top), (x + half, base), (x - half, base)], (30, 85, 60))
        if snow:
            cap = 0.1 * height
            canvas.polygon(
                [(x, top), (x + half * 0.4, top + cap), (x - half * 0.4, top + cap)],
                (240, 245, 250),
            )


def _windows(kit: Kit, canvas: Canvas, box: tuple[float, float, float, float], cell: float) -> None:
    """A grid of windows; at night some are lit."""
    x0, y0, x1, y1 = box
    for wy in np.arange(y0 + cell * 0.5, y1 - cell, cell):
        for wx in np.arange(x0 + cell * 0.4, x1 - cell * 0.6, cell):
            lit = kit.lamps_lit and kit.rng.random() < 0.45
            colour = kit.pick(kit.lamps()) if lit else (70, 90, 120)
            canvas.rect(wx, wy, wx + 0.55 * cell, wy + 0.6 * cell, colour, glow=lit)


def _lamp_post(kit: Kit, canvas: Canvas, x: float, foot: float, height: float) -> None:
    canvas.rect(x - 0.012 * height, foot - height, x + 0.012 * height, foot, (50, 55, 60))
    head = (x, foot - height)
    lit = kit.lamps_lit
    colour = kit.lamps()[0] if lit else (225, 225, 215)
    canvas.ellipse(head, (0.07 * height, 0.045 * height), colour, glow=lit)


def _string_lights(kit: Kit, canvas: Canvas, y: float, sag: float, spacing: float) -> None:
    """Bulbs on a wire hanging between posts, across the whole period."""
    posts = max(2, round(kit.period / (6 * spacing)))
    span = kit.period / posts
    xs = np.linspace(0, kit.period, posts * 24 + 1)
    wire = y + sag * np.sin(math.pi * (xs % span) / span)
    canvas.line(np.column_stack([xs, wire]), (40, 40, 40), max(1.0, kit.height / 400))
    colours = (*kit.lamps(), (255, 90, 90), (120, 255, 140))
    bulbs = np.arange(spacing / 2, kit.period, spacing)
    for i, bx in enumerate(bulbs):
        by = y + sag * math.sin(math.pi * (bx % span) / span) + 0.008 * kit.height
        r = 0.007 * kit.height
        canvas.ellipse((bx, by), (r, r * 1.3), colours[i % len(colours)], glow=True)


# --- outdoor places -----------------------------------------------------------------------


def beach(kit: Kit) -> list[Draft]:
    h = kit.height
    sea = kit.canvas()
    sea.gradient(round(kit.horizon), round(kit.below_ground), (40, 100, 160), (70, 160, 195))
    for x in kit.spread(2):
        sea.ellipse((x, kit.horizon), (0.12 * h, 0.03 * h), (60, 110, 90))
    for _ in range(60):
        x, y = kit.uniform(0, kit.period), kit.uniform(kit.horizon + 4, kit.ground_top)
        length = (0.01 + 0.04 * (y - kit.horizon) / h) * h
        sea.line([(x, y), (x + length, y)], (150, 200, 230), 1 + 2 * (y - kit.horizon) / h)
    palms = kit.canvas()
    for x in kit.spread(3, 0.6):
        _palm(kit, palms, x, kit.ground_top + 0.02 * h, kit.uniform(0.45, 0.6) * h)
    sand = _ground(kit, (205, 180, 130), (240, 215, 165))
    sand.rect(0, kit.ground_top, kit.period, kit.ground_top + 0.025 * h, (190, 165, 120))
    xs = np.linspace(0, kit.period, 300)
    foam = kit.ground_top + 0.006 * h * np.sin(2 * math.pi * 12 * xs / kit.period)
    sand.line(np.column_stack([xs, foam]), (250, 250, 245), 0.008 * h)
    _speckle(kit, sand, ((215, 190, 140), (180, 155, 110), (250, 235, 215)), 120, 0.004)
    return [Draft(sea, 0.3, 0.25), Draft(palms, 0.6, 0.05), Draft(sand, 1.0)]


def _palm(kit: Kit, canvas: Canvas, x: float, foot: float, height: float) -> None:
    lean = kit.uniform(-0.15, 0.15) * height
    ts = np.linspace(0, 1, 20)
    trunk = np.column_stack([x + lean * ts**2, foot - height * ts])
    canvas.line(trunk, (120, 85, 50), 0.045 * height)
    top = (x + lean, foot - height)
    for angle in range(0, 360, 45):
        a = math.radians(angle + kit.uniform(-10, 10))
        cx = top[0] + 0.2 * height * math.cos(a)
        cy = top[1] + 0.1 * height * math.sin(a) + 0.04 * height
        canvas.ellipse((cx, cy), (0.22 * height, 0.035 * height), (40, 120, 50), angle=angle)
    canvas.ellipse(top, (0.035 * height, 0.035 * height), (90, 70, 40))


def forest(kit: Kit) -> list[Draft]:
    h = kit.height
    far = kit.canvas()
    far.rect(0, kit.horizon - 0.02 * h, kit.period, kit.below_ground, (30, 70, 50))
    for x in np.arange(0, kit.period, 0.05 * h):
        r = kit.uniform(0.04, 0.08) * h
        far.ellipse((x, kit.horizon - kit.uniform(0.0, 0.06) * h), (r, r * 1.3), (30, 70, 50))
    near = kit.canvas()
    for x in kit.spread(5, 0.6):
        if kit.rng.random() < 0.5:
            _pine(kit, near, x, kit.ground_top + 0.02 * h, kit.uniform(0.5, 0.7) * h, snow=False)
        else:
            _tree(
                kit, near, x, kit.ground_top + 0.02 * h, kit.uniform(0.55, 0.75) * h, (45, 115, 55)
            )
    floor = _ground(kit, (70, 105, 50), (55, 90, 40))
    _speckle(kit, floor, ((150, 110, 50), (190, 150, 60), (40, 80, 35), (110, 80, 45)), 220, 0.004)
    return [Draft(far, 0.25, 0.35), Draft(near, 0.55, 0.1), Draft(floor, 1.0)]


def park(kit: Kit) -> list[Draft]:
    h = kit.height
    hills = kit.canvas()
    hills.polygon(_ridge(kit, kit.horizon + 0.04 * h, 0.0, 0.1, 2, sharp=False), (120, 180, 100))
    trees = kit.canvas()
    for x in kit.spread(4, 0.7):
        _tree(kit, trees, x, kit.ground_top + 0.02 * h, kit.uniform(0.35, 0.5) * h, (60, 140, 60))
    for x in kit.spread(3):
        r = kit.uniform(0.04, 0.06) * h
        trees.ellipse((x, kit.ground_top), (r * 1.6, r), (50, 125, 55))
    grass = _ground(kit, (100, 170, 75), (75, 145, 60))
    _speckle(kit, grass, ((60, 120, 50), (120, 185, 90)), 200, 0.004)
    _speckle(kit, grass, ((250, 250, 250), (250, 220, 60), (240, 130, 170)), 60, 0.003)
    return [Draft(hills, 0.25, 0.3), Draft(trees, 0.55, 0.05), Draft(grass, 1.0)]


def city(kit: Kit) -> list[Draft]:
    h = kit.height
    skyline = _skyline(kit, (95, 105, 125), 0.12, 0.38)
    street = kit.canvas()
    for x in kit.spread(4, 0.4):
        w = kit.uniform(0.2, 0.32) * h
        top = kit.ground_top - kit.uniform(0.3, 0.55) * h
        colour = kit.pick(((150, 90, 70), (170, 160, 140), (110, 120, 140), (180, 140, 100)))
        street.rect(x - w / 2, top, x + w / 2, kit.below_ground, colour)
        _windows(kit, street, (x - w / 2, top, x + w / 2, kit.ground_top - 0.06 * h), 0.06 * h)
    for x in kit.spread(3):
        _lamp_post(kit, street, x, kit.ground_top + 0.01 * h, 0.32 * h)
    ground = _ground(kit, (165, 165, 160), (150, 150, 148))
    for x in np.arange(0, kit.period, 0.12 * h):
        ground.line([(x, kit.ground_top), (x - 0.03 * h, 0.93 * h)], (135, 135, 132), 2)
    ground.rect(0, 0.93 * h, kit.period, h, (60, 60, 66))
    ground.rect(0, 0.93 * h, kit.period, 0.94 * h, (110, 110, 110))
    for x in np.arange(0, kit.period, 0.2 * h):
        ground.rect(x, 0.965 * h, x + 0.1 * h, 0.975 * h, (230, 200, 80))
    return [Draft(skyline, 0.25, 0.3), Draft(street, 0.55, 0.05), Draft(ground, 1.0)]


def _skyline(kit: Kit, colour: RGB, low: float, high: float) -> Canvas:
    h = kit.height
    canvas = kit.canvas()
    x = 0.0
    while x < kit.period:
        w = kit.uniform(0.05, 0.12) * h
        w = min(w, kit.period - x)
        top = kit.horizon - kit.uniform(low, high) * h
        shade = mix(colour, (60, 65, 80), kit.uniform(0, 0.4))
        canvas.rect(x, top, x + w, kit.below_ground, shade)
        if kit.rng.random() < 0.2:
            canvas.rect(x + w * 0.45, top - 0.04 * h, x + w * 0.55, top, shade)  # an antenna
        _windows(kit, canvas, (x, top, x + w, kit.horizon), 0.025 * h)
        x += w
    return canvas


def market(kit: Kit) -> list[Draft]:
    h = kit.height
    skyline = _skyline(kit, (80, 80, 100), 0.08, 0.25)
    stalls = kit.canvas()
    awnings: tuple[tuple[RGB, RGB], ...] = (
        ((220, 50, 50), (250, 240, 230)),
        ((40, 120, 200), (250, 240, 230)),
        ((40, 150, 90), (250, 230, 120)),
        ((240, 150, 40), (250, 240, 230)),
    )
    for i, x in enumerate(kit.spread(4, 0.2)):
        _stall(kit, stalls, x, awnings[i % len(awnings)])
    _string_lights(kit, stalls, 0.12 * h, 0.06 * h, 0.05 * h)
    paving = _ground(kit, (125, 115, 105), (105, 97, 90))
    for y in np.arange(kit.ground_top, h, 0.05 * h):
        paving.line([(0, y), (kit.period, y)], (90, 84, 78), 2)
    _speckle(kit, paving, ((140, 130, 118), (95, 88, 80)), 120, 0.004)
    return [Draft(skyline, 0.25, 0.35), Draft(stalls, 0.55, 0.0), Draft(paving, 1.0)]


def _stall(kit: Kit, canvas: Canvas, x: float, stripes: tuple[RGB, RGB]) -> None:
    h = kit.height
    w, foot = 0.32 * h, kit.ground_top + 0.01 * h
    counter = foot - 0.14 * h
    roof = foot - 0.42 * h
    for px in (x - w / 2, x + w / 2 - 0.015 * h):
        canvas.rect(px, roof, px + 0.015 * h, foot, (90, 60, 40))
    canvas.rect(x - w / 2, counter, x + w / 2, foot, (140, 90, 50))
    canvas.rect(x - w / 2, counter, x + w / 2, counter + 0.015 * h, (110, 70, 40))
    for k in range(8):
        gx = x - w / 2 + (k + 0.5) * w / 8
        canvas.ellipse(
            (gx, counter - 0.015 * h),
            (0.016 * h, 0.016 * h),
            kit.pick(((230, 60, 40), (250, 200, 40), (120, 190, 60), (250, 140, 30))),
        )
    bands = 7
    for k in range(bands):
        x0 = x - w / 2 - 0.03 * h + k * (w + 0.06 * h) / bands
        x1 = x0 + (w + 0.06 * h) / bands
        top, bottom = roof - 0.06 * h, roof + 0.02 * h
        canvas.polygon(
            [(x0 + 0.01 * h, top), (x1 + 0.01 * h, top), (x1, bottom), (x0, bottom)], stripes[k % 2]
        )
    for lx in (x - w / 3, x + w / 3):
        canvas.line([(lx, roof + 0.02 * h), (lx, roof + 0.06 * h)], (60, 40, 30), 2)
        canvas.ellipse(
            (lx, roof + 0.09 * h), (0.025 * h, 0.035 * h), (230, 50, 40), glow=kit.lamps_lit
        )


def desert(kit: Kit) -> list[Draft]:
    h = kit.height
    mesas = kit.canvas()
    for x in kit.spread(3, 0.8):
        w, top = kit.uniform(0.25, 0.5) * h, kit.horizon - kit.uniform(0.06, 0.14) * h
        mesas.polygon(
            [
                (x - w, kit.below_ground),
                (x - w * 0.7, top),
                (x + w * 0.7, top),
                (x + w, kit.below_ground),
            ],
            (200, 120, 80),
        )
    dunes = kit.canvas()
    dunes.polygon(
        _ridge(kit, kit.ground_top + 0.02 * h, 0.0, 0.12, 2, sharp=False), (230, 180, 110)
    )
    for x in kit.spread(3, 0.8):
        _cactus(kit, dunes, x, kit.ground_top + 0.015 * h, kit.uniform(0.16, 0.26) * h)
    sand = _ground(kit, (235, 195, 130), (245, 210, 150))
    xs = np.linspace(0, kit.period, 300)
    for y in np.arange(kit.ground_top + 0.03 * h, h, 0.04 * h):
        ripple = y + 0.006 * h * np.sin(2 * math.pi * 9 * xs / kit.period + y)
        sand.line(np.column_stack([xs, ripple]), (215, 170, 110), 2)
    return [Draft(mesas, 0.2, 0.35), Draft(dunes, 0.5, 0.05), Draft(sand, 1.0)]


def _cactus(kit: Kit, canvas: Canvas, x: float, foot: float, height: float) -> None:
    green, w = (60, 130, 70), 0.12 * height
    canvas.rect(x - w / 2, foot - height, x + w / 2, foot, green)
    canvas.ellipse((x, foot - height), (w / 2, w / 2), green)
    for side, arm in ((-1, 0.55), (1, 0.4)):
        ax = x + side * 0.3 * height
        canvas.rect(
            min(x, ax), foot - arm * height, max(x, ax), foot - arm * height + w * 0.8, green
        )
        canvas.rect(
            ax - w * 0.4,
            foot - (arm + 0.25) * height,
            ax + w * 0.4,
            foot - arm * height + w * 0.8,
            green,
        )
        canvas.ellipse((ax, foot - (arm + 0.25) * height), (w * 0.4, w * 0.4), green)


def mountain(kit: Kit) -> list[Draft]:
    h = kit.height
    peaks = kit.canvas()
    for x in kit.spread(5, 0.8):
        w, top = kit.uniform(0.25, 0.45) * h, kit.horizon - kit.uniform(0.15, 0.35) * h
        peaks.polygon(
            [(x - w, kit.below_ground), (x, top), (x + w, kit.below_ground)], (110, 120, 150)
        )
        cap = 0.3
        peaks.polygon(
            [
                (x, top),
                (x + w * cap * 0.9, top + (kit.horizon - top) * cap),
                (x, top + (kit.horizon - top) * cap * 0.8),
                (x - w * cap, top + (kit.horizon - top) * cap),
            ],
            (245, 248, 252),
        )
    pines = kit.canvas()
    pines.polygon(
        _ridge(kit, kit.ground_top + 0.02 * h, 0.0, 0.06, 2, sharp=False), (225, 232, 245)
    )
    for x in kit.spread(5, 0.8):
        _pine(kit, pines, x, kit.ground_top + 0.01 * h, kit.uniform(0.25, 0.4) * h, snow=True)
    snow = _ground(kit, (230, 236, 248), (245, 248, 255))
    _speckle(kit, snow, ((205, 215, 235), (215, 225, 240)), 100, 0.006)
    return [Draft(peaks, 0.2, 0.3), Draft(pines, 0.5, 0.05), Draft(snow, 1.0)]


def space(kit: Kit) -> list[Draft]:
    h = kit.height
    planet = kit.canvas()
    _ringed_planet(planet, (0.3 * kit.width, 0.25 * h), 0.13 * h)
    planet.ellipse((0.8 * kit.width, 0.15 * h), (0.03 * h, 0.03 * h), (190, 190, 200))
    rims = kit.canvas()
    rims.polygon(_ridge(kit, kit.ground_top + 0.02 * h, 0.0, 0.08, 3, sharp=True), (120, 115, 130))
    surface = _ground(kit, (140, 138, 148), (115, 113, 122))
    for _ in range(18):
        x, y = kit.uniform(0, kit.period), kit.uniform(kit.ground_top + 0.04 * h, h)
        r = kit.uniform(0.02, 0.06) * h * (0.5 + (y - kit.ground_top) / (h - kit.ground_top))
        surface.ellipse((x, y), (r, r * 0.3), (95, 93, 102))
        surface.ellipse((x, y + r * 0.05), (r * 0.8, r * 0.22), (150, 148, 158))
    return [Draft(planet, 0.1), Draft(rims, 0.45, 0.1), Draft(surface, 1.0)]


def _ringed_planet(canvas: Canvas, centre: tuple[float, float], r: float) -> None:
    """A banded disc inside a tilted ring: the ring's far half behind it, near half in front."""
    cx, cy = centre
    ring = ((cx, cy), (r * 1.8, r * 0.4), -15.0)
    canvas.arc(*ring, (180, 360), (210, 190, 160), 0.12 * r)
    bands = 7
    for k in range(bands):
        ys = np.linspace(cy - r + 2 * r * k / bands, cy - r + 2 * r * (k + 1) / bands, 8)
        half = np.sqrt(np.maximum(r * r - (ys - cy) ** 2, 0.0))
        outline = [*zip(cx + half, ys, strict=True), *zip(cx - half[::-1], ys[::-1], strict=True)]
        canvas.polygon(outline, mix((200, 120, 80), (240, 200, 150), 0.7 * (k % 2)))
    canvas.arc(*ring, (0, 180), (210, 190, 160), 0.12 * r)


def underwater(kit: Kit) -> list[Draft]:
    h = kit.height
    rocks = kit.canvas()
    rocks.polygon(_ridge(kit, kit.horizon + 0.06 * h, 0.0, 0.25, 3, sharp=True), (30, 70, 95))
    reef = kit.canvas()
    xs = np.linspace(0, 1, 24)
    for x in kit.spread(9, 0.9):
        height = kit.uniform(0.2, 0.45) * h
        sway = 0.03 * h * np.sin(2 * math.pi * xs * kit.uniform(1, 2) + kit.uniform(0, 6))
        stalk = np.column_stack([x + sway, kit.ground_top + 0.02 * h - height * xs])
        reef.line(stalk, (40, 140, 90), 0.012 * h)
    for x in kit.spread(6, 0.9):
        colour = kit.pick(((240, 110, 120), (250, 160, 80), (200, 90, 200)))
        for _ in range(6):
            cx = x + kit.uniform(-0.05, 0.05) * h
            cy = kit.ground_top + 0.01 * h - kit.uniform(0, 0.08) * h
            r = kit.uniform(0.015, 0.03) * h
            reef.ellipse((cx, cy), (r, r), colour)
    sand = _ground(kit, (175, 170, 130), (195, 185, 145))
    xs = np.linspace(0, kit.period, 300)
    for y in np.arange(kit.ground_top + 0.03 * h, h, 0.05 * h):
        ripple = y + 0.005 * h * np.sin(2 * math.pi * 7 * xs / kit.period + y)
        sand.line(np.column_stack([xs, ripple]), (160, 155, 118), 2)
    return [Draft(rocks, 0.3, 0.4), Draft(reef, 0.6, 0.1), Draft(sand, 1.0)]


# --- indoor places ------------------------------------------------------------------------


def _window(
    kit: Kit, canvas: Canvas, box: tuple[float, float, float, float], sky: tuple[RGB, RGB]
) -> None:
    """A window onto the time of day's sky (drawn as light, so night outside stays dark)."""
    x0, y0, x1, y1 = box
    frame = 0.012 * kit.height
    canvas.rect(x0 - frame, y0 - frame, x1 + frame, y1 + frame, (245, 245, 240))
    steps = 24
    for k in range(steps):
        ya = y0 + (y1 - y0) * k / steps
        colour = mix(sky[0], sky[1], k / (steps - 1))
        canvas.rect(x0, ya, x1, ya + (y1 - y0) / steps + 1, colour, glow=True)
    canvas.rect((x0 + x1) / 2 - frame / 2, y0, (x0 + x1) / 2 + frame / 2, y1, (245, 245, 240))


def kitchen(kit: Kit) -> list[Draft]:
    h = kit.height
    wall = kit.canvas()
    wall.gradient(0, h, (235, 225, 200), (220, 210, 185))
    wall.rect(0, 0.42 * h, kit.period, 0.62 * h, (245, 245, 245))
    for x in np.arange(0, kit.period, 0.05 * h):
        wall.line([(x, 0.42 * h), (x, 0.62 * h)], (200, 200, 205), 1)
    for y in np.arange(0.42 * h, 0.62 * h, 0.05 * h):
        wall.line([(0, y), (kit.period, y)], (200, 200, 205), 1)
    for x in kit.spread(2, 0.2):
        _window(kit, wall, (x - 0.12 * h, 0.1 * h, x + 0.12 * h, 0.36 * h), kit.sky())
    units = kit.canvas()
    units.rect(0, 0.6 * h, kit.period, kit.below_ground, (120, 150, 170))
    units.rect(0, 0.585 * h, kit.period, 0.61 * h, (90, 90, 95))
    for x in np.arange(0, kit.period, 0.16 * h):
        units.rect(
            x + 0.01 * h, 0.625 * h, x + 0.15 * h, kit.ground_top - 0.01 * h, (135, 165, 185)
        )
        units.rect(x + 0.07 * h, 0.64 * h, x + 0.09 * h, 0.65 * h, (200, 200, 205))
    for x in kit.spread(2, 0.4):
        units.rect(x - 0.1 * h, 0.2 * h, x + 0.1 * h, kit.ground_top, (225, 228, 232))  # a fridge
        units.rect(x + 0.07 * h, 0.3 * h, x + 0.08 * h, 0.4 * h, (150, 150, 155))
    for x in kit.spread(3):
        for k in range(3):
            colour = kit.pick(((230, 60, 40), (250, 200, 40), (120, 190, 60)))
            units.ellipse((x + (k - 1) * 0.025 * h, 0.57 * h), (0.018 * h, 0.018 * h), colour)
    floor = _ground(kit, (200, 200, 205), (185, 185, 190))
    tile = 0.08 * h
    for row, y in enumerate(np.arange(kit.ground_top, h, tile)):
        for x in np.arange((row % 2) * tile, kit.period, 2 * tile):
            floor.rect(x, y, x + tile, y + tile, (140, 140, 150))
    return [Draft(wall, 0.35, opaque=True), Draft(units, 0.7), Draft(floor, 1.0)]


def room(kit: Kit) -> list[Draft]:
    h = kit.height
    wall = kit.canvas()
    wall.gradient(0, h, (205, 175, 150), (190, 160, 140))
    for x in np.arange(0, kit.period, 0.08 * h):
        wall.rect(x, 0, x + 0.03 * h, h, (212, 185, 160))
    wall.rect(0, kit.ground_top - 0.03 * h, kit.period, h, (240, 235, 225))
    for x in kit.spread(2, 0.2):
        _window(kit, wall, (x - 0.11 * h, 0.12 * h, x + 0.11 * h, 0.42 * h), kit.sky())
    for x in kit.spread(3, 0.8):
        wall.rect(x - 0.05 * h, 0.18 * h, x + 0.05 * h, 0.3 * h, (120, 80, 50))
        wall.rect(
            x - 0.04 * h,
            0.19 * h,
            x + 0.04 * h,
            0.29 * h,
            kit.pick(((90, 150, 200), (220, 170, 80))),
        )
    furniture = kit.canvas()
    for x in kit.spread(2, 0.3):
        _sofa(kit, furniture, x)
    for x in kit.spread(2, 0.3):
        _shelf(kit, furniture, x + kit.period / 4)
    floor = _ground(kit, (155, 105, 65), (140, 92, 55))
    for y in np.arange(kit.ground_top, h, 0.035 * h):
        floor.line([(0, y), (kit.period, y)], (115, 75, 45), 2)
        offset = kit.uniform(0, 0.3) * h
        for x in np.arange(offset, kit.period, 0.3 * h):
            floor.line([(x, y), (x, y + 0.035 * h)], (115, 75, 45), 2)
    return [Draft(wall, 0.35, opaque=True), Draft(furniture, 0.7), Draft(floor, 1.0)]


def _sofa(kit: Kit, canvas: Canvas, x: float) -> None:
    h = kit.height
    colour = kit.pick(((120, 80, 160), (70, 120, 110), (170, 70, 60)))
    darker = mix(colour, (0, 0, 0), 0.25)
    w, foot = 0.45 * h, kit.ground_top + 0.01 * h
    canvas.rect(x - w / 2, foot - 0.24 * h, x + w / 2, foot - 0.1 * h, darker)
    canvas.rect(x - w / 2, foot - 0.12 * h, x + w / 2, foot - 0.03 * h, colour)
    for side in (-1, 1):
        canvas.rect(
            x + side * w / 2 - 0.03 * h,
            foot - 0.16 * h,
            x + side * w / 2 + 0.03 * h,
            foot - 0.03 * h,
            darker,
        )
    canvas.rect(x - w / 2, foot - 0.03 * h, x - w / 2 + 0.02 * h, foot, (60, 40, 30))
    canvas.rect(x + w / 2 - 0.02 * h, foot - 0.03 * h, x + w / 2, foot, (60, 40, 30))
    pole = x + w / 2 + 0.08 * h
    canvas.rect(pole - 0.006 * h, foot - 0.42 * h, pole + 0.006 * h, foot, (50, 50, 50))
    shade = [
        (pole - 0.05 * h, foot - 0.38 * h),
        (pole + 0.05 * h, foot - 0.38 * h),
        (pole + 0.03 * h, foot - 0.47 * h),
        (pole - 0.03 * h, foot - 0.47 * h),
    ]
    canvas.polygon(shade, (250, 220, 160), glow=kit.lamps_lit)


def _shelf(kit: Kit, canvas: Canvas, x: float) -> None:
    h = kit.height
    w, foot, top = 0.22 * h, kit.ground_top + 0.01 * h, kit.ground_top - 0.45 * h
    canvas.rect(x - w / 2, top, x + w / 2, foot, (110, 75, 45))
    for y in np.arange(top + 0.02 * h, foot - 0.05 * h, 0.11 * h):
        canvas.rect(x - w / 2 + 0.015 * h, y, x + w / 2 - 0.015 * h, y + 0.09 * h, (70, 45, 30))
        bx = x - w / 2 + 0.02 * h
        while bx < x + w / 2 - 0.04 * h:
            bw = kit.uniform(0.012, 0.025) * h
            colour = kit.pick(((180, 40, 40), (40, 90, 160), (220, 180, 60), (60, 130, 80)))
            canvas.rect(bx, y + kit.uniform(0.01, 0.025) * h, bx + bw, y + 0.09 * h, colour)
            bx += bw + 0.003 * h


def stage(kit: Kit) -> list[Draft]:
    h = kit.height
    curtain = kit.canvas()
    curtain.gradient(0, h, (110, 15, 25), (70, 10, 20))
    fold = 0.06 * h
    for x in np.arange(0, kit.period, fold):
        curtain.rect(x, 0, x + fold * 0.45, h, (135, 25, 35))
    for x in np.arange(0, kit.period, 0.12 * h):
        curtain.ellipse((x + 0.06 * h, 0.04 * h), (0.07 * h, 0.06 * h), (160, 120, 40))
    beams = kit.canvas()
    for x in kit.spread(3, 0.3):
        spread = 0.18 * h
        beams.polygon(
            [
                (x - 0.02 * h, 0),
                (x + 0.02 * h, 0),
                (x + spread, kit.ground_top + 0.05 * h),
                (x - spread, kit.ground_top + 0.05 * h),
            ],
            (70, 65, 45),
        )
    boards = _ground(kit, (150, 100, 55), (130, 85, 45))
    for y in np.arange(kit.ground_top, h, 0.03 * h):
        boards.line([(0, y), (kit.period, y)], (105, 70, 38), 2)
    return [Draft(curtain, 0.4, opaque=True), Draft(beams, 0.7, additive=True), Draft(boards, 1.0)]


PAINTERS: dict[str, Painter] = {
    "beach": beach,
    "forest": forest,
    "park": park,
    "city": city,
    "market": market,
    "desert": desert,
    "mountain": mountain,
    "space": space,
    "underwater": underwater,
    "kitchen": kitchen,
    "room": room,
    "stage": stage,
}
