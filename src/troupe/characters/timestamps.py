"""Parsing and checking the `timestamps` field: "start,end" in seconds, a 1–3 s window."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from troupe.errors import TroupeError

MIN_WINDOW_SECONDS = 1.0
MAX_WINDOW_SECONDS = 3.0
# Tolerance for windows like "1,4.0000001" produced by float formatting in clients.
_EPSILON = 1e-6
# ASCII digits only: `\d` and float() both take other scripts' digits, such as "١,٣".
_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$|^\.[0-9]+$")


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{_format(self.start)},{_format(self.end)}"


def _format(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def round_seconds(seconds: float) -> float:
    """A time as answers give it, to the millisecond: 3.6666666666666665 -> 3.667."""
    return round(seconds, 3)


def _invalid(message: str) -> TroupeError:
    return TroupeError("invalid_timestamps", message, param="timestamps")


def parse_timestamps(raw: object) -> Window:
    """Parse `"start,end"` (integers or decimals, spaces allowed) into a checked window."""
    if not isinstance(raw, str):
        raise _invalid(f'timestamps must be a string like "1,3", got {type(raw).__name__}')
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) != 2:
        raise _invalid(f'timestamps must be two numbers "start,end" joined by a comma, got {raw!r}')
    values = [_parse_number(part, raw) for part in parts]
    window = Window(values[0], values[1])
    if window.end <= window.start:
        raise _invalid(f"timestamps end ({parts[1]}) must be after start ({parts[0]})")
    if window.length < MIN_WINDOW_SECONDS - _EPSILON:
        raise _invalid(f"timestamps window is {window.length:g}s; it must be at least 1s")
    if window.length > MAX_WINDOW_SECONDS + _EPSILON:
        raise _invalid(f"timestamps window is {window.length:g}s; it must be at most 3s")
    return window


def _parse_number(text: str, raw: str) -> float:
    if text.startswith("-"):
        raise _invalid(f"timestamps start and end cannot be negative, got {raw!r}")
    if not _NUMBER.match(text):
        raise _invalid(f'timestamps must be numbers in seconds like "1.5,3", got {raw!r}')
    value = float(text)
    if not math.isfinite(value):
        raise _invalid(f"timestamps must be finite numbers, got {raw!r}")
    return value


def check_within(window: Window, duration: float) -> None:
    """The window must end inside the source; a few milliseconds of container rounding pass."""
    if window.end > duration + 0.05:
        raise _invalid(
            f"timestamps end {_format(window.end)}s is past the video's duration of {duration:.2f}s"
        )
