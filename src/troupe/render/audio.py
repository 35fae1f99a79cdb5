"""The soundtrack: an ambience synthesised for the place and weather (shaped noise, hums,
chirps), with each character's voice clip placed once, in turn, over it.

Everything is float32 stereo (2, n) at AUDIO_RATE; noise is shaped in the frequency domain,
so no filter runs sample by sample in Python.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from troupe.media.encode import AUDIO_RATE
from troupe.render.prompt import ScenePlan

Spectrum = Callable[[np.ndarray], np.ndarray]  # frequencies (Hz) -> gains
Window = tuple[float, float]  # (start, end) seconds

_FIRST_LINE = 0.5  # seconds before the first voice starts
_GAP = 0.3  # seconds between voices
_FADE = 0.02  # seconds of fade at each end of a voice, so cuts do not click
_DUCK = 0.45  # the ambience's level while someone speaks
_PEAK = 0.95
# place -> its ambience's parts; weather adds its own
_PLACE_SOUNDS: dict[str, tuple[str, ...]] = {
    "beach": ("surf", "breeze"),
    "forest": ("breeze", "birds"),
    "park": ("breeze", "birds"),
    "city": ("traffic",),
    "market": ("traffic", "crowd"),
    "desert": ("wind",),
    "mountain": ("wind",),
    "space": ("drone",),
    "underwater": ("deep", "bubbles"),
    "kitchen": ("room",),
    "room": ("room",),
    "stage": ("room", "crowd"),
}
_WEATHER_SOUNDS = {"rain": ("rain",), "wind": ("wind",), "snow": ("breeze",)}


def soundtrack(
    plan: ScenePlan,
    seconds: float,
    voices: Sequence[np.ndarray | None],
    rng: np.random.Generator,
    bed: np.ndarray | None = None,
) -> tuple[np.ndarray, list[Window | None]]:
    """The mixed track and, per voice, when it plays (None for a character without one).

    The voices play over `bed` (stereo, cut or padded to length: an edit's own sound) if
    given, else over an ambience for the plan's place and weather."""
    n = round(seconds * AUDIO_RATE)
    windows = speech_windows([_length(v) for v in voices], seconds)
    if bed is None:
        bed = ambience(plan, n, rng)
    else:
        bed = np.pad(bed[:, :n], ((0, 0), (0, max(0, n - bed.shape[1]))))
    speech = np.zeros((2, n), np.float32)
    for voice, window in zip(voices, windows, strict=True):
        if voice is not None and window is not None:
            _lay(speech, voice, window)
    talking = np.abs(speech).max(axis=0) > 0
    duck = _smooth(np.where(talking, _DUCK, 1.0).astype(np.float32), round(0.15 * AUDIO_RATE))
    mixed = bed * duck + speech
    peak = float(np.abs(mixed).max()) if n else 0.0
    if peak > _PEAK:
        mixed *= _PEAK / peak
    return mixed.astype(np.float32), windows


def _length(voice: np.ndarray | None) -> float | None:
    return None if voice is None else voice.shape[1] / AUDIO_RATE


def speech_windows(durations: Sequence[float | None], seconds: float) -> list[Window | None]:
    """When each clip plays: in cast order, from _FIRST_LINE on, each given an equal share of
    the video and cut short to fit its share."""
    speakers = [i for i, d in enumerate(durations) if d]
    windows: list[Window | None] = [None] * len(durations)
    if not speakers:
        return windows
    share = (seconds - _FIRST_LINE) / len(speakers)
    for k, i in enumerate(speakers):
        start = _FIRST_LINE + k * share
        length = min(float(durations[i] or 0.0), share - _GAP)
        if length > 2 * _FADE:
            windows[i] = (start, start + length)
    return windows


def _lay(track: np.ndarray, voice: np.ndarray, window: Window) -> None:
    start = round(window[0] * AUDIO_RATE)
    length = min(round((window[1] - window[0]) * AUDIO_RATE), track.shape[1] - start)
    clip = voice[:, :length].copy()
    fade = min(round(_FADE * AUDIO_RATE), length // 2)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    clip[:, :fade] *= ramp
    clip[:, length - fade :] *= ramp[::-1]
    track[:, start : start + length] += clip


# --- ambience -----------------------------------------------------------------------------


def ambience(plan: ScenePlan, n: int, rng: np.random.Generator) -> np.ndarray:
    """The place's and the weather's sounds over n samples, stereo."""
    parts = _PLACE_SOUNDS.get(plan.place, ("breeze",)) + _WEATHER_SOUNDS.get(plan.weather, ())
    night = plan.time_of_day == "night"
    track = np.zeros((2, n), np.float32)
    for part in dict.fromkeys(parts):
        if part == "birds" and night:
            part = "crickets"
        track += _SOUNDS[part](n, rng)
    return track


def _noise(n: int, rng: np.random.Generator, spectrum: Spectrum, level: float) -> np.ndarray:
    """Stereo noise with the given spectral shape, at `level` RMS; the channels differ."""
    if n == 0:
        return np.zeros((2, 0), np.float32)
    freqs = np.fft.rfftfreq(n, 1 / AUDIO_RATE)
    gains = spectrum(freqs)
    channels = []
    for _ in range(2):
        shaped = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * gains, n)
        rms = float(np.sqrt(np.mean(shaped**2))) or 1.0
        channels.append(shaped * (level / rms))
    return np.array(channels, np.float32)


def _lowpass(cutoff: float) -> Spectrum:
    return lambda f: 1.0 / (1.0 + (f / cutoff) ** 2)


def _band(low: float, high: float) -> Spectrum:
    return lambda f: 1.0 / (1.0 + (low / np.maximum(f, 1.0)) ** 2) / (1.0 + (f / high) ** 2)


def _envelope(n: int, rng: np.random.Generator, hz: float, depth: float) -> np.ndarray:
    """A slowly wandering gain around 1, changing about `hz` times a second."""
    wander = _noise(n, rng, _lowpass(hz), 1.0)[0]
    return 1.0 + depth * np.tanh(wander)


def _times(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / AUDIO_RATE


def _breeze(n: int, rng: np.random.Generator) -> np.ndarray:
    return _noise(n, rng, _lowpass(400), 0.02) * _envelope(n, rng, 0.3, 0.5)


def _wind(n: int, rng: np.random.Generator) -> np.ndarray:
    return _noise(n, rng, _band(80, 700), 0.06) * _envelope(n, rng, 0.4, 0.8)


def _surf(n: int, rng: np.random.Generator) -> np.ndarray:
    t = _times(n)
    swell = 0.25 + 0.75 * np.sin(math.pi * t / 7.0 + rng.uniform(0, math.pi)) ** 4
    return _noise(n, rng, _lowpass(900), 0.08) * swell.astype(np.float32)


def _rain(n: int, rng: np.random.Generator) -> np.ndarray:
    hiss = _noise(n, rng, _band(1500, 9000), 0.05)
    return hiss + _noise(n, rng, _lowpass(300), 0.02)


def _traffic(n: int, rng: np.random.Generator) -> np.ndarray:
    t = _times(n)
    hum = 0.01 * (np.sin(2 * math.pi * 60 * t) + 0.5 * np.sin(2 * math.pi * 120 * t))
    rumble = _noise(n, rng, _lowpass(150), 0.04) * _envelope(n, rng, 0.15, 0.7)
    return rumble + hum.astype(np.float32)


def _crowd(n: int, rng: np.random.Generator) -> np.ndarray:
    return _noise(n, rng, _band(300, 2000), 0.025) * _envelope(n, rng, 3.0, 0.5)


def _room(n: int, rng: np.random.Generator) -> np.ndarray:
    return _noise(n, rng, _lowpass(250), 0.004)


def _drone(n: int, rng: np.random.Generator) -> np.ndarray:
    t = _times(n)
    tone = np.sin(2 * math.pi * 55 * t) + 0.6 * np.sin(2 * math.pi * 82.7 * t)
    beat = 0.6 + 0.4 * np.sin(2 * math.pi * 0.1 * t)
    return (0.03 * tone * beat).astype(np.float32) + _noise(n, rng, _lowpass(120), 0.01)


def _deep(n: int, rng: np.random.Generator) -> np.ndarray:
    return _noise(n, rng, _lowpass(200), 0.05) * _envelope(n, rng, 0.2, 0.4)


def _chirps(
    n: int,
    rng: np.random.Generator,
    per_second: float,
    pitch: tuple[float, float],
    length: tuple[float, float],
    sweep: float,
    level: float,
) -> np.ndarray:
    """Short sine sweeps at random times and places in the stereo field."""
    track = np.zeros((2, n), np.float32)
    for _ in range(rng.poisson(per_second * n / AUDIO_RATE)):
        size = round(rng.uniform(*length) * AUDIO_RATE)
        start = int(rng.integers(0, max(1, n - size)))
        t = np.arange(size) / AUDIO_RATE
        f0 = rng.uniform(*pitch)
        phase = 2 * math.pi * (f0 * t + 0.5 * sweep * f0 * t**2 / max(t[-1], 1e-6))
        chirp = level * np.sin(phase) * np.sin(math.pi * t / t[-1]) ** 2
        pan = rng.uniform(0.2, 0.8)
        end = start + size
        track[0, start:end] += ((1 - pan) * chirp)[: n - start]
        track[1, start:end] += (pan * chirp)[: n - start]
    return track


def _birds(n: int, rng: np.random.Generator) -> np.ndarray:
    return _chirps(n, rng, 1.5, (2500, 4500), (0.06, 0.15), 0.4, 0.05)


def _crickets(n: int, rng: np.random.Generator) -> np.ndarray:
    t = _times(n)
    pulses = (np.sin(2 * math.pi * 30 * t) > 0.3) * (np.sin(2 * math.pi * 0.8 * t) > 0)
    tone = 0.012 * np.sin(2 * math.pi * 4500 * t) * pulses
    return np.array([tone, np.roll(tone, AUDIO_RATE // 7)], np.float32)


def _bubbles(n: int, rng: np.random.Generator) -> np.ndarray:
    return _chirps(n, rng, 2.0, (300, 700), (0.03, 0.06), 1.5, 0.04)


_SOUNDS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "breeze": _breeze,
    "wind": _wind,
    "surf": _surf,
    "rain": _rain,
    "traffic": _traffic,
    "crowd": _crowd,
    "room": _room,
    "drone": _drone,
    "deep": _deep,
    "birds": _birds,
    "crickets": _crickets,
    "bubbles": _bubbles,
}


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    """Moving average (by running sums), so the ducking glides rather than steps."""
    if width <= 1 or len(values) == 0:
        return values
    padded = np.pad(values.astype(np.float64), (width // 2, width - width // 2), mode="edge")
    sums = np.cumsum(padded)
    return ((sums[width:] - sums[:-width]) / width)[: len(values)].astype(np.float32)
