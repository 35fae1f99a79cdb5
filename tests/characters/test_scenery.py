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

from troupe.characters.extract import extract_character
from troupe.characters.frame_quality import resize_long_side
from troupe.characters.imagenet import MODEL_PACKAGE, imagenet_classifier
from troupe.characters.scenery import (
    PLACE_CLASSES,
    SCENERY_SCORE,
    SceneryVerdict,
    _base_line,
    _border_share,
    _edges,
    _on_a_stem,
    _side_to_side,
    _straight_share,
    judge_scenery,
    verdict,
)
from troupe.characters.subject import Track, track_subject
from troupe.errors import TroupeError
from troupe.media.frames import Frame
from troupe.media.synthetic import ClipSpec, make_mascot_clip
from troupe.media.window import decode_window
from troupe.render.animatic.production import produce
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


def _street(ground: tuple[int, int, int] = (150, 150, 145), tiles: bool = False) -> np.ndarray:
    """A drawn street: sky to 0.72 of the height, then the ground, plain or in rows of tiles
    0.08 of the height deep (each row's colour alternating along it, like a chequered floor)."""
    image = np.zeros((360, 640, 3), np.uint8)
    image[:259] = (110, 160, 220)
    image[259:] = ground
    if tiles:
        for row, y in enumerate(range(259, 360, 29)):
            for column, x in enumerate(range(0, 640, 32)):
                if (row + column) % 2:
                    image[y : y + 29, x : x + 32] = (200, 200, 200)
    return image


def _standing(image: np.ndarray, foot: int, colour: tuple[int, int, int]) -> np.ndarray:
    """A block 60 px wide and 120 tall with its base on row `foot`; its mask."""
    mask = np.zeros(image.shape[:2], bool)
    mask[foot - 120 : foot, 300:360] = True
    image[mask] = colour
    return mask


def test_a_building_is_rooted_where_the_ground_begins_and_a_figure_is_not() -> None:
    street = _street()
    building = _standing(street, 259, (190, 150, 110))  # its base hidden by the ground's edge
    assert _base_line(_edges(street), building) > 0.9
    street = _street()
    figure = _standing(street, 317, (190, 150, 110))  # standing on the ground, in front
    assert _base_line(_edges(street), figure) == 0.0
    # On a tiled floor every row of tiles has an edge; one under the feet is no horizon.
    floor = _street(tiles=True)
    on_tiles = _standing(floor, 317, (200, 40, 40))
    assert _base_line(_edges(floor), on_tiles) < 0.1
    assert verdict(_cues(base_line=1.0, width_span=0.3, colour_difference=20.0)).is_scenery


def test_a_building_whose_foot_the_cut_out_left_out_is_still_rooted() -> None:
    """The model often stops at a building's darker foot: its walls run on below the cut-out
    down to the ground's edge, which is where it stands. A figure's feet have no walls below."""
    street = _street()
    building = _standing(street, 259, (190, 60, 50))
    street[229:259, 300:360] = (150, 110, 70)  # the foot, left out of the cut-out
    building[229:259] = False
    assert _base_line(_edges(street), building) > 0.9
    street = _street()
    figure = _standing(street, 229, (190, 60, 50))
    assert _base_line(_edges(street), figure) == 0.0


def _crown(image: np.ndarray, trunk: bool) -> np.ndarray:
    """A round crown 100 px across over the middle of the frame, on a trunk 10 px thick down to
    the ground when `trunk`; the crown's mask (the salient model often leaves the trunk out)."""
    disc = np.zeros(image.shape[:2], np.uint8)
    cv2.circle(disc, (320, 130), 50, 1, -1)
    if trunk:
        image[170:259, 315:325] = (110, 70, 40)
    image[disc > 0] = (60, 140, 60)
    return disc > 0


def test_a_crown_on_a_trunk_is_on_a_stem_and_a_figure_on_its_feet_is_not() -> None:
    tree = _street()
    crown = _crown(tree, trunk=True)
    assert _on_a_stem(_edges(tree), crown)
    street = _street()
    mascot = _crown(street, trunk=False)
    assert not _on_a_stem(_edges(street), mascot)
    striped = _street()
    striped[:259, ::12] = (70, 110, 170)  # a wall of upright lines: no stem stands out
    crown = _crown(striped, trunk=True)
    assert not _on_a_stem(_edges(striped), crown)
    assert verdict(_cues(stem=1.0, straight=0.2, bottom=0.5, colour_difference=25.0)).is_scenery


def test_a_band_from_side_to_side_is_scenery_and_a_close_up_is_not() -> None:
    sky = np.zeros((360, 640), bool)
    sky[:200] = True
    bust = np.zeros((360, 640), bool)
    bust[100:, :] = True  # cut by the bottom edge as well
    assert _side_to_side(sky) and not _side_to_side(bust)
    assert verdict(_cues(side_to_side=1.0, border=0.3, straight=0.3, width_span=1.0)).is_scenery


# Seeds whose render has a building that a character was made of, at 640x360 and at the
# conformance test's 1280x720 alike, before the check knew where the ground begins (12 of 120
# windows of seeds 0-39 were accepted at each size, none since), and 392, whose red building's
# brown foot the cut-out leaves out (windows 2-5 and 6-9 were accepted before the check looked
# for the ground where the building's walls end; a sweep of seeds 300-399 found no other).
SHOWCASE_SEEDS = (11, 24, 35, 39, 392)


@needs_weights
@pytest.mark.parametrize("seed", SHOWCASE_SEEDS)
def test_no_window_of_the_showcase_without_a_cast_becomes_a_character(seed: int) -> None:
    """The conformance test's windows of seed 001's showcase (15 s), at 640x360."""
    production = produce(RenderRequest(SHOWCASE, (), 15, 640, 360, seed=seed))
    for start in (2, 6, 10):
        times = [start + t for t in TIMES]
        frames = [Frame(t, production.compositor.frame(t)[:, :, :3].copy()) for t in times]
        with pytest.raises(TroupeError) as refused:
            extract_character(frames, 640, 360)
        assert refused.value.code in ("no_subject_found", "low_quality_segment"), start


@needs_weights
def test_a_face_on_what_looks_like_scenery_keeps_it_as_a_figure() -> None:
    """The same scenery window is refused, unless a face lies on its subject: then it is kept,
    warned of, and the likeness judgement decides what the figure is."""
    production = produce(RenderRequest(SHOWCASE, (), 15, 640, 360, seed=24))
    times = [2 + t for t in TIMES]
    frames = [Frame(t, production.compositor.frame(t)[:, :, :3].copy()) for t in times]
    asked: list[list[tuple[float, np.ndarray]]] = []

    def no_face(masks: list[tuple[float, np.ndarray]]) -> bool:
        asked.append(masks)
        return False

    with pytest.raises(TroupeError) as refused:
        extract_character(frames, 640, 360, no_face)
    assert refused.value.code == "no_subject_found" and "part of the scenery" in str(refused.value)
    assert asked, "the scenery check should have asked for a figure"
    assert all(0 <= time <= 15 and mask.any() for time, mask in asked[0])
    kept = extract_character(frames, 640, 360, lambda masks: True)
    assert "subject may be part of the scenery" in kept.report.warnings


def _cues(**changes: float) -> dict[str, float]:
    still_box = {
        "width_span": 0.2,
        "border": 0.0,
        "side_to_side": 0.0,
        "straight": 0.9,
        "colour_difference": 40.0,
        "bottom": 0.8,
        "base_line": 0.0,
        "stem": 0.0,
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
    probabilities = imagenet_classifier().probabilities(cat)
    assert probabilities.shape == (1000,)
    assert abs(float(probabilities.sum()) - 1.0) < 1e-4
    assert int(np.argmax(probabilities)) in range(281, 286)  # tabby .. Egyptian cat
    assert float(probabilities[list(PLACE_CLASSES)].sum()) < 0.05
