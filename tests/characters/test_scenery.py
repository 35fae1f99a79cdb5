"""The scenery check on media troupe makes: a painted city from the animatic back end (no cast)
is scenery, a mascot clip is a character; its cues on drawn shapes; the classifier's weights."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from troupe.characters.frame_quality import resize_long_side
from troupe.characters.scenery import (
    MODEL_PACKAGE,
    PLACE_CLASSES,
    SCENERY_SCORE,
    SceneryVerdict,
    _border_share,
    _straight_share,
    judge_scenery,
    place_classifier,
    verdict,
)
from troupe.characters.subject import Track, track_subject
from troupe.media.synthetic import ClipSpec, make_mascot_clip
from troupe.media.window import decode_window
from troupe.render.animatic.backend import produce
from troupe.render.backend import RenderRequest

# seed 001's showcase prompt: it names people, but a prompt alone draws no one.
SHOWCASE = (
    "Three distinct characters walking through a city: a young woman with curly hair, an "
    "elderly man with a cane, a teenage boy with a skateboard"
)
TIMES = [i / 4 for i in range(12)]  # what extraction looks at over a 3 s window

try:
    distribution(MODEL_PACKAGE)
    HAVE_WEIGHTS = True
except PackageNotFoundError:
    HAVE_WEIGHTS = False
needs_weights = pytest.mark.skipif(
    not HAVE_WEIGHTS, reason=f"install {MODEL_PACKAGE} (scripts/setup)"
)


@dataclass(frozen=True)
class Window:
    images: list[np.ndarray]
    times: list[float]
    track: Track

    @property
    def masks(self) -> list[np.ndarray | None]:
        return [s.subject.mask if s else None for s in self.track.sightings]

    @property
    def best(self) -> int:
        """The most confident frame the model looked at (extraction's pick, near enough)."""
        seen = self.track.sightings
        return max((s.confidence, i) for i, s in enumerate(seen) if s and self.track.modelled[i])[1]

    def judge(self, learned: bool = True) -> SceneryVerdict:
        return judge_scenery(
            self.images,
            self.masks,
            self.times,
            self.track.cameras,
            self.track.modelled,
            self.best,
            learned=learned,
        )


def _window(images: list[np.ndarray], times: list[float]) -> Window:
    images = [resize_long_side(image, 640) for image in images]
    return Window(images, times, track_subject(images, times))


@functools.cache
def painted_city() -> Window:
    """Three seconds of an animatic render of the showcase prompt: buildings, street, sky."""
    production = produce(RenderRequest(SHOWCASE, (), 3, 640, 360, seed=18))
    frames = [production.compositor.frame(t)[:, :, :3].copy() for t in TIMES]
    return _window(frames, TIMES)


@functools.cache
def mascot_clip(tmp: Path) -> Window:
    """troupe's synthetic mascot walking over its drawn hills, decoded like an upload."""
    path = tmp / "mascot.mp4"
    make_mascot_clip(path, ClipSpec(seconds=3.0, width=640, height=360, audio=False))
    frames = decode_window(path, 0.0, 3.0, max_side=640, fps=4.0)
    return _window([f.image for f in frames], [f.time for f in frames])


@pytest.fixture(scope="module")
def mascot(tmp_path_factory: pytest.TempPathFactory) -> Window:
    return mascot_clip(tmp_path_factory.mktemp("scenery"))


@needs_weights
def test_a_painted_city_without_a_cast_is_scenery() -> None:
    city = painted_city()
    # The salient-object model is sure of it: confidence alone does not refuse it.
    assert city.track.confidence >= 0.5
    result = city.judge()
    assert result.is_scenery and not result.unsure
    assert result.reason.startswith("the only region that stands out is part of the scenery (")
    assert "does not move apart from the background" in result.reason


@needs_weights
def test_a_walking_mascot_is_a_character(mascot: Window) -> None:
    result = mascot.judge()
    assert not result.is_scenery and not result.unsure
    assert result.cues["independent_speed"] > 0.05  # it walks: the strongest sign of a character


def test_the_geometric_cues_alone_still_tell_the_two_apart(mascot: Window) -> None:
    assert not mascot.judge(learned=False).is_scenery
    city = painted_city().judge(learned=False)
    assert city.score > mascot.judge(learned=False).score + 0.5


def test_straight_outlines_are_measured_off_the_frame_border() -> None:
    box = np.zeros((360, 640), bool)
    box[100:300, 200:400] = True
    disc = np.zeros((360, 640), np.uint8)
    cv2.circle(disc, (320, 180), 120, 1, -1)
    band = np.zeros((360, 640), bool)
    band[250:, :] = True  # the ground: its only outline off the border is the horizon
    assert _straight_share(box) > 0.95
    assert _straight_share(disc.astype(bool)) < 0.1
    assert _straight_share(band) > 0.95
    assert _border_share(box) == 0.0
    assert 0.3 < _border_share(band) < 0.5


def _cues(**changes: float) -> dict[str, float]:
    still_box = {
        "width_span": 0.2,
        "border": 0.0,
        "straight": 0.9,
        "colour_difference": 40.0,
        "bottom": 0.8,
        "independent_speed": 0.0,
        "place_probability": 0.0,
    }
    return {**still_box, **changes}


def test_a_still_product_is_not_scenery_but_a_wide_building_is() -> None:
    assert not verdict(_cues()).is_scenery  # a box on a table: straight, small, still
    building = verdict(_cues(width_span=0.8, colour_difference=12.0, place_probability=0.3))
    assert building.is_scenery
    assert "like a building's" in building.reason


def test_moving_apart_from_the_background_outweighs_the_rest() -> None:
    ground = _cues(width_span=1.0, border=0.3, straight=0.5, colour_difference=15.0)
    assert verdict(ground).is_scenery
    assert not verdict({**ground, "independent_speed": 0.2}).is_scenery


def test_close_calls_are_unsure() -> None:
    near = verdict(_cues(bottom=0.4, straight=0.0))  # high in the frame, nothing else
    assert near.unsure and not near.is_scenery and near.score > SCENERY_SCORE - 0.25


@needs_weights
def test_the_classifier_knows_a_cat_and_does_not_call_it_a_place() -> None:
    cat = skimage.data.chelsea()
    probabilities = place_classifier().probabilities(cat)
    assert probabilities.shape == (1000,)
    assert abs(float(probabilities.sum()) - 1.0) < 1e-4
    assert int(np.argmax(probabilities)) in range(281, 286)  # tabby .. Egyptian cat
    assert float(probabilities[list(PLACE_CLASSES)].sum()) < 0.05
