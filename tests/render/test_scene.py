"""Scenes, weather and soundtrack: every place, time and weather draws and sounds."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from troupe.media.encode import AUDIO_RATE
from troupe.render.animatic.compose import Compositor, blend
from troupe.render.animatic.compose import _view as compose_view
from troupe.render.animatic.motion import choreograph
from troupe.render.animatic.scene import build_scene, cover_fit
from troupe.render.animatic.weather import draw_particles, plan_particles
from troupe.render.audio import ambience, soundtrack, speech_windows
from troupe.render.prompt import PLACES, TIMES, ScenePlan

SIZE = (320, 180)


def empty_frame(plan: ScenePlan, t: float = 1.0, size: tuple[int, int] = SIZE) -> np.ndarray:
    scene = build_scene(plan, size, np.random.default_rng(0), None)
    motion = choreograph([], [], "pan_right", size, 4, np.random.default_rng(0))
    particles = plan_particles(plan, size, np.random.default_rng(0))
    return Compositor(scene, [], motion, particles, size).frame(t)[:, :, :3].copy()


@pytest.mark.parametrize(("place", "time"), list(itertools.product(PLACES, TIMES)))
def test_every_place_draws_at_every_time(place: str, time: str) -> None:
    image = empty_frame(ScenePlan(place=place, time_of_day=time))
    assert image.shape == (SIZE[1], SIZE[0], 3)
    assert image.std() > 8  # a picture, not a flat fill
    # something drawn at ground level as well as in the background
    assert image[-20:].std() > 3 and image[:60].std() > 3


@pytest.mark.parametrize("camera", ["pan_right", "zoom_in", "drift"])
def test_layers_hidden_behind_nearer_ones_are_skipped_without_changing_a_pixel(camera: str) -> None:
    # Rows a nearer layer fills opaquely are not drawn for the layers behind it: the frame must
    # equal every layer warped over all its rows and laid over the last.
    size = (200, 360)
    for place, time in itertools.product(PLACES, TIMES):
        scene = build_scene(
            ScenePlan(place=place, time_of_day=time), size, np.random.default_rng(1), None
        )
        motion = choreograph([], [], camera, size, 4, np.random.default_rng(0))
        compositor = Compositor(scene, [], motion, None, size)
        camera_pose, centre = motion.camera.at(1.5), motion.camera.centre
        drawn = np.zeros((size[1], size[0], 4), np.uint8)
        compositor._draw_scene(drawn, camera_pose, centre, 1.5)
        whole = np.zeros_like(drawn)
        for layer, plate in zip(scene.layers, compositor.plates, strict=True):
            view = compose_view(layer, camera_pose, centre, 1.5, size[1])
            border = cv2.BORDER_REPLICATE if layer.tiles else cv2.BORDER_REFLECT_101
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            warped = cv2.warpAffine(plate, view.inverse, size, flags=flags, borderMode=border)
            top, bottom = view.rows
            blend(whole[top:bottom], warped[top:bottom])
        # 1: a blend's rounding where a solid row is copied instead
        difference = np.abs(drawn[:, :, :3].astype(int) - whole[:, :, :3]).max()
        assert difference <= 1, (place, time)


def test_places_and_times_look_different() -> None:
    means = {p: empty_frame(ScenePlan(place=p)).mean(axis=(0, 1)) for p in PLACES}
    for a, b in itertools.combinations(PLACES, 2):
        assert np.abs(means[a] - means[b]).max() > 3, (a, b)
    day = empty_frame(ScenePlan(place="city", time_of_day="day"))
    night = empty_frame(ScenePlan(place="city", time_of_day="night"))
    assert night.mean() < 0.6 * day.mean()


def test_palette_words_grade_the_scene() -> None:
    plain = empty_frame(ScenePlan(place="park"))
    grey = empty_frame(ScenePlan(place="park", palette=("monochrome",)))
    pink = empty_frame(ScenePlan(place="park", palette=("pink",)))
    assert np.abs(grey[:, :, 0].astype(int) - grey[:, :, 1]).max() <= 2
    assert pink[:, :, 0].mean() > plain[:, :, 0].mean() + 10


@pytest.mark.parametrize("weather", ["rain", "snow", "wind"])
def test_weather_particles_fall_or_blow(weather: str) -> None:
    plan = ScenePlan(place="park", weather=weather)
    particles = plan_particles(plan, SIZE, np.random.default_rng(0))
    assert particles is not None
    x0, y0 = particles.positions(0.0)
    x1, y1 = particles.positions(0.1)
    moved = np.hypot(x1 - x0, y1 - y0)
    assert np.median(moved) > 0.5
    canvas = np.zeros((SIZE[1], SIZE[0], 4), np.uint8)
    draw_particles(canvas, particles, 0.5, front=False)
    draw_particles(canvas, particles, 0.5, front=True)
    assert canvas.any()


def test_no_rain_indoors_and_bubbles_under_water() -> None:
    assert plan_particles(ScenePlan(place="kitchen", weather="rain"), SIZE, rng()) is None
    for weather in ("clear", "fog"):
        assert plan_particles(ScenePlan(place="park", weather=weather), SIZE, rng()) is None
    bubbles = plan_particles(ScenePlan(place="underwater"), SIZE, rng())
    assert bubbles is not None and bubbles.kind == "bubbles"


def test_fog_veils_the_distance() -> None:
    clear = empty_frame(ScenePlan(place="forest"))
    foggy = empty_frame(ScenePlan(place="forest", weather="fog"))
    assert foggy.std() < clear.std()


def test_cover_fit_crops_without_stretching() -> None:
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, 100:200] = 255  # a white band in the middle third
    fitted = cover_fit(image, (100, 100))
    assert fitted.shape == (100, 100, 3)
    assert fitted.min() == 255  # only the middle third remains


def test_voices_take_turns_and_fit_the_video() -> None:
    assert speech_windows([2.0, None, 1.0], 8.0) == [(0.5, 2.5), None, (4.25, 5.25)]
    assert speech_windows([3.0, 3.0, 3.0, 3.0], 4.0)[0] == pytest.approx((0.5, 1.075))
    assert speech_windows([None], 4.0) == [None]


@pytest.mark.parametrize("place", list(PLACES))
def test_every_place_has_an_ambience(place: str) -> None:
    sound = ambience(ScenePlan(place=place, weather="rain"), AUDIO_RATE, rng())
    assert sound.shape == (2, AUDIO_RATE) and sound.dtype == np.float32
    rms = float(np.sqrt(np.mean(sound**2)))
    assert 0.002 < rms < 0.3
    assert not np.array_equal(sound[0], sound[1])  # stereo, not two copies


def test_the_soundtrack_ducks_the_ambience_under_a_voice_and_never_clips() -> None:
    t = np.arange(AUDIO_RATE) / AUDIO_RATE
    voice = np.repeat((0.9 * np.sin(2 * np.pi * 440 * t))[None].astype(np.float32), 2, axis=0)
    track, windows = soundtrack(ScenePlan(place="city"), 4, [voice, None], rng())
    assert track.shape == (2, 4 * AUDIO_RATE) and windows == [(0.5, 1.5), None]
    assert np.abs(track).max() <= 0.95 + 1e-6
    spectrum = np.abs(np.fft.rfft(track[0, AUDIO_RATE // 2 : 3 * AUDIO_RATE // 2]))
    assert spectrum.argmax() == 440  # 1 Hz bins
    a, b = (
        soundtrack(ScenePlan(), 4, [None], rng(3))[0],
        soundtrack(ScenePlan(), 4, [None], rng(3))[0],
    )
    assert np.array_equal(a, b)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)
