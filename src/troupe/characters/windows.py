"""Ranking 1–3 s windows of a source by how good a character their frames would make."""

from __future__ import annotations

from dataclasses import dataclass

from troupe.characters.timestamps import MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS, Window

LENGTH_STEP = 0.5
# A longer window is worth a little: more motion and more angles of the character.
LENGTH_BONUS = 0.04


@dataclass(frozen=True)
class WindowCandidate:
    window: Window
    score: float  # mean frame score inside, 0..1, with the small bonus for length

    def to_dict(self) -> dict[str, object]:
        return {
            "timestamps": str(self.window),
            "start": self.window.start,
            "end": self.window.end,
            "score": round(self.score, 4),
        }


def window_lengths(duration: float) -> list[float]:
    """Lengths to try, longest first, in half-second steps down to the minimum."""
    longest = min(MAX_WINDOW_SECONDS, duration)
    lengths = [longest]
    while lengths[-1] - LENGTH_STEP >= MIN_WINDOW_SECONDS - 1e-9:
        lengths.append(lengths[-1] - LENGTH_STEP)
    return lengths


def _candidates(times: list[float], scores: list[float], duration: float) -> list[WindowCandidate]:
    found = []
    for length in window_lengths(duration):
        starts = sorted({0.0, *(min(t, duration - length) for t in times)})
        for start in starts:
            held = [i for i, t in enumerate(times) if start <= t < start + length]
            if held:
                value = sum(scores[i] for i in held) / len(held)
                value *= 1.0 - LENGTH_BONUS * (MAX_WINDOW_SECONDS - length)
                found.append(
                    WindowCandidate(Window(round(start, 3), round(start + length, 3)), value)
                )
    return found


def _overlaps(a: Window, b: Window) -> bool:
    return a.start < b.end and b.start < a.end


def rank_windows(
    times: list[float],
    scores: list[float],
    duration: float,
    count: int = 3,
    avoid: Window | None = None,
) -> list[WindowCandidate]:
    """The best `count` windows that do not overlap each other nor `avoid`, best first, from
    per-frame scores."""
    if duration < MIN_WINDOW_SECONDS or not times:
        return []
    found = _candidates(times, scores, duration)
    ranked = sorted(found, key=lambda c: (-c.score, c.window.start))
    chosen: list[WindowCandidate] = []
    for candidate in ranked:
        taken = [kept.window for kept in chosen] + ([avoid] if avoid else [])
        if not any(_overlaps(candidate.window, window) for window in taken):
            chosen.append(candidate)
        if len(chosen) == count:
            break
    return chosen
