"""Weather as particles in screen space: rain streaks, snow flakes, blown leaves or sand, and
bubbles under water. Positions are closed-form functions of time, so any frame can be drawn
on its own; the nearer third of the particles is drawn in front of the characters."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from troupe.render.animatic.paint import RGB, grade_colour
from troupe.render.animatic.places import INDOOR
from troupe.render.prompt import ScenePlan

_FRONT_SHARE = 1 / 3
_SHIFT = 4
_ONE = 1 << _SHIFT


@dataclass(frozen=True)
class Particles:
    """One kind of particle; arrays hold one entry per particle, sizes in pixels."""

    kind: str  # "rain", "snow", "leaves", "dust" or "bubbles"
    x: np.ndarray  # at t = 0, pixels
    y: np.ndarray
    vx: np.ndarray  # pixels per second
    vy: np.ndarray
    size: np.ndarray
    sway: np.ndarray  # phase of a side-to-side wobble
    colours: tuple[RGB, ...]
    width: int
    height: int

    def positions(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Where every particle is at t: each wraps around a frame with a margin of its size."""
        pad = 2 * self.size
        wobble = {"snow": 0.6, "leaves": 1.5, "bubbles": 0.3}.get(self.kind, 0.0)
        x = self.x + self.vx * t + wobble * self.size * np.sin(2.0 * t + self.sway)
        y = self.y + self.vy * t
        x = np.mod(x + pad, self.width + 2 * pad) - pad
        y = np.mod(y + pad, self.height + 2 * pad) - pad
        return x, y


def plan_particles(
    plan: ScenePlan, size: tuple[int, int], rng: np.random.Generator
) -> Particles | None:
    """The weather's particles for this place, or None for none."""
    kind = _kind(plan)
    if kind is None:
        return None
    width, height = size
    area = width * height / (1280 * 720)
    count, speed, size_range, colours = _KINDS[kind]
    n = max(8, round(count * area))
    fall = rng.uniform(*speed, n) * height
    wind = 0.35 if plan.weather == "wind" else 0.12
    vx = {
        "rain": fall * wind,
        "snow": fall * wind,
        "leaves": fall,
        "dust": fall,
        "bubbles": np.zeros(n),
    }[kind]
    vy = {
        "rain": fall,
        "snow": fall,
        "leaves": 0.15 * fall,
        "dust": 0.05 * fall,
        "bubbles": -fall,
    }[kind]
    # the nearest particles (drawn in front) are the biggest and fastest
    depth = np.sort(rng.uniform(0.4, 1.0, n))
    return Particles(
        kind=kind,
        x=rng.uniform(0, width, n),
        y=rng.uniform(0, height, n),
        vx=vx * depth,
        vy=vy * depth,
        size=rng.uniform(*size_range, n) * height * depth,
        sway=rng.uniform(0, 2 * np.pi, n),
        colours=tuple(grade_colour(c, plan.palette) for c in colours),
        width=width,
        height=height,
    )


# kind -> (particles at 720p, speed range in frame heights per second, size range in frame
# heights, colours)
_KINDS: dict[str, tuple[int, tuple[float, float], tuple[float, float], tuple[RGB, ...]]] = {
    "rain": (260, (0.9, 1.4), (0.03, 0.06), ((185, 195, 215),)),
    "snow": (220, (0.06, 0.15), (0.002, 0.006), ((250, 250, 255),)),
    "leaves": (40, (0.3, 0.6), (0.005, 0.009), ((200, 120, 40), (170, 60, 30), (220, 180, 60))),
    "dust": (150, (0.4, 0.8), (0.0015, 0.003), ((230, 200, 150),)),
    "bubbles": (40, (0.08, 0.2), (0.004, 0.012), ((200, 235, 255),)),
}


def _kind(plan: ScenePlan) -> str | None:
    if plan.place == "underwater":
        return "bubbles"
    if plan.place in INDOOR or plan.place == "space":
        return None
    if plan.weather in ("rain", "snow"):
        return plan.weather
    if plan.weather == "wind":
        return "dust" if plan.place in ("desert", "beach") else "leaves"
    return None


def draw_particles(frame: np.ndarray, particles: Particles, t: float, front: bool) -> None:
    """Draw the far two thirds (front=False) or the near third (front=True) onto `frame`."""
    n = len(particles.x)
    split = round(n * (1 - _FRONT_SHARE))
    chosen = slice(split, n) if front else slice(0, split)
    x, y = particles.positions(t)
    x, y, size = x[chosen], y[chosen], particles.size[chosen]
    if particles.kind == "rain":
        _rain(frame, particles, x, y, size, front)
        return
    colours = particles.colours
    for i, (px, py, r) in enumerate(zip(x, y, size, strict=True)):
        centre = (round(px * _ONE), round(py * _ONE))
        colour = colours[i % len(colours)]
        if particles.kind == "bubbles":
            radius = max(_ONE, round(r * _ONE))
            cv2.circle(frame, centre, radius, colour, 1 + int(front), cv2.LINE_AA, _SHIFT)
        elif particles.kind == "leaves":
            axes = (max(_ONE, round(r * _ONE)), max(_ONE, round(0.45 * r * _ONE)))
            angle = 40.0 * t * (1 + i % 3)
            cv2.ellipse(frame, centre, axes, angle, 0, 360, colour, -1, cv2.LINE_AA, _SHIFT)
        else:
            radius = max(_ONE // 2, round(r * _ONE))
            cv2.circle(frame, centre, radius, colour, -1, cv2.LINE_AA, _SHIFT)


def _rain(
    frame: np.ndarray,
    particles: Particles,
    x: np.ndarray,
    y: np.ndarray,
    length: np.ndarray,
    front: bool,
) -> None:
    """Streaks along each drop's motion, all in one call."""
    vx, vy = particles.vx, particles.vy
    slope = float(np.mean(vx / np.maximum(vy, 1e-6)))
    heads = np.column_stack([x, y])
    tails = np.column_stack([x - slope * length, y - length])
    segments = np.round(np.stack([tails, heads], axis=1) * _ONE).astype(np.int32)
    thickness = 2 if front and particles.height >= 1000 else 1
    cv2.polylines(
        frame, list(segments), False, particles.colours[0], thickness, cv2.LINE_AA, _SHIFT
    )
