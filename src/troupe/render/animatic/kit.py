"""What every scene painter shares: the frame's geometry, the plan, the time of day's colours
and light, and a seeded random source."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from troupe.render.animatic.motion import ground_top_share
from troupe.render.animatic.paint import RGB, Canvas, Gain, mix
from troupe.render.prompt import ScenePlan

# time of day -> (sky at the top, sky at the horizon)
SKIES: dict[str, tuple[RGB, RGB]] = {
    "dawn": ((70, 90, 160), (250, 180, 150)),
    "day": ((70, 140, 230), (185, 220, 245)),
    "sunset": ((50, 45, 110), (255, 140, 70)),
    "night": ((5, 8, 25), (25, 35, 75)),
}
# time of day -> light on everything under the sky
LIGHTS: dict[str, Gain] = {
    "dawn": (0.95, 0.85, 0.82),
    "day": (1.0, 1.0, 1.0),
    "sunset": (1.0, 0.78, 0.62),
    "night": (0.32, 0.36, 0.55),
}
_OVERCAST_GREY: RGB = (130, 135, 145)
_OVERCAST_LIGHT: Gain = (0.85, 0.87, 0.9)
_WARM_LAMPS: tuple[RGB, ...] = ((255, 210, 120), (255, 180, 90), (255, 240, 190))
_NEON_LAMPS: tuple[RGB, ...] = ((255, 40, 200), (40, 230, 255), (180, 60, 255))
_HORIZON_ABOVE_GROUND = 0.14  # share of the frame height
OVERLAP = 0.08  # how far below the ground's top the layers behind reach, so zooms open no gap


@dataclass(frozen=True)
class Kit:
    """A scene painter's tools: layers are `period` wide (they tile) and the frame's height."""

    width: int
    height: int
    period: int
    plan: ScenePlan
    rng: np.random.Generator

    def canvas(self) -> Canvas:
        return Canvas(self.period, self.height)

    @property
    def horizon(self) -> float:
        return (ground_top_share(self.width, self.height) - _HORIZON_ABOVE_GROUND) * self.height

    @property
    def ground_top(self) -> float:
        return ground_top_share(self.width, self.height) * self.height

    @property
    def below_ground(self) -> float:
        """Where layers behind the ground stop."""
        return (ground_top_share(self.width, self.height) + OVERLAP) * self.height

    @property
    def night(self) -> bool:
        return self.plan.time_of_day == "night"

    @property
    def lamps_lit(self) -> bool:
        return self.plan.time_of_day in ("night", "sunset")

    @property
    def overcast(self) -> bool:
        return self.plan.weather in ("rain", "snow", "fog")

    def sky(self) -> tuple[RGB, RGB]:
        top, horizon = SKIES[self.plan.time_of_day]
        if self.overcast:
            share = 0.3 if self.night else 0.6
            return mix(top, _OVERCAST_GREY, share), mix(horizon, _OVERCAST_GREY, share)
        return top, horizon

    def light(self) -> Gain:
        r, g, b = LIGHTS[self.plan.time_of_day]
        if self.overcast:
            return r * _OVERCAST_LIGHT[0], g * _OVERCAST_LIGHT[1], b * _OVERCAST_LIGHT[2]
        return r, g, b

    def lamps(self) -> tuple[RGB, ...]:
        return _NEON_LAMPS if "neon" in self.plan.palette else _WARM_LAMPS

    def spread(self, count: int, jitter: float = 0.3) -> list[float]:
        """`count` x positions evenly across the period, each moved up to `jitter` of a gap."""
        gap = self.period / count
        return [gap * (i + 0.5 + jitter * (self.rng.random() - 0.5)) for i in range(count)]

    def uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def pick(self, options: tuple[RGB, ...]) -> RGB:
        return options[int(self.rng.integers(len(options)))]
