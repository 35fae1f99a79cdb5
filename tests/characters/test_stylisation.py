"""The drawn-or-photographed classifier (nsfwjs's MobileNetV2) on real pictures: scikit-image's
photographs score as photographs, cartoons drawn here and a painted character score as
drawings, and the preprocessing is nsfwjs's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from tests.support import in_a_forked_child
from troupe.characters import stylisation
from troupe.characters.stylisation import (
    DRAWING,
    MODEL_FILE,
    MODEL_SIDE,
    NEUTRAL,
    StylisationModel,
    drawing_probability,
    drawing_scores,
    preprocess,
)

# nsfwjs 4.4.0 under TF.js 4.22.0 (CPU backend) on scikit-image 0.26's pictures, measured by
# tools/nsfwjs/compare.py: Drawing, Hentai, Neutral, Porn, Sexy.
TFJS_ASTRONAUT = [0.0602215, 0.0041545, 0.9331263, 0.0017706, 0.000727]
TFJS_COFFEE = [0.0082165, 0.0014157, 0.9873262, 0.0024996, 0.000542]


Colour = tuple[int, int, int]


def cartoon(width: int, height: int, skin: Colour, shirt: Colour) -> np.ndarray:
    """A flat-colour cartoon person on a flat background: outlined head with hair, eyes and a
    smile, a shirt, arms and legs."""
    image = np.full((height, width, 3), (250, 240, 190), np.uint8)
    cx, s = width // 2, min(width, height) / 100
    ink, pen = (20, 20, 20), max(1, round(s))

    def at(x: float, y: float) -> tuple[int, int]:
        return round(cx + x * s), round(y * s)

    body = np.array([at(-18, 45), at(18, 45), at(24, 80), at(-24, 80)], np.int32)
    cv2.fillPoly(image, [body], shirt, cv2.LINE_AA)
    cv2.polylines(image, [body], True, ink, pen, cv2.LINE_AA)
    for side in (-1, 1):
        cv2.line(image, at(side * 18, 48), at(side * 34, 70), skin, round(5 * s))
        cv2.line(image, at(side * 10, 80), at(side * 12, 98), (60, 60, 90), round(7 * s))
    cv2.circle(image, at(0, 26), round(18 * s), skin, -1, cv2.LINE_AA)
    cv2.circle(image, at(0, 26), round(18 * s), ink, pen, cv2.LINE_AA)
    cv2.ellipse(image, at(0, 18), (round(19 * s), round(11 * s)), 0, 180, 360, (90, 50, 20), -1)
    for side in (-1, 1):
        cv2.circle(image, at(side * 7, 26), round(3 * s), (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(image, at(side * 7, 26), round(1.5 * s), ink, -1, cv2.LINE_AA)
    cv2.ellipse(image, at(0, 33), (round(7 * s), round(4 * s)), 0, 0, 180, ink, 2, cv2.LINE_AA)
    return image


def test_photographs_score_as_photographs() -> None:
    scores = drawing_scores([data.astronaut(), data.chelsea(), data.coffee()])
    assert scores.shape == (3, 5)
    assert (scores[:, NEUTRAL] > 0.9).all()
    assert (scores[:, DRAWING] < 0.1).all()


def test_flat_cartoons_score_as_drawings() -> None:
    scores = drawing_scores(
        [
            cartoon(640, 360, (200, 150, 110), (220, 60, 60)),
            cartoon(360, 480, (250, 215, 180), (220, 60, 60)),
        ]
    )
    assert (scores[:, DRAWING] > 0.9).all()
    assert (scores[:, NEUTRAL] < 0.1).all()


def test_matches_nsfwjs_under_tfjs() -> None:
    scores = drawing_scores([data.astronaut(), data.coffee()])
    np.testing.assert_allclose(scores, [TFJS_ASTRONAUT, TFJS_COFFEE], atol=1e-5)


def test_scores_are_probabilities_in_class_order() -> None:
    scores = drawing_scores([data.rocket()])
    assert scores.dtype == np.float32
    assert scores.shape == (1, len(stylisation.CLASSES))
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    assert stylisation.CLASSES[DRAWING] == "drawing"
    assert stylisation.CLASSES[NEUTRAL] == "neutral"
    assert drawing_scores([]).shape == (0, 5)


def test_a_batch_of_three_equals_three_singles() -> None:
    images = [
        data.astronaut(),
        data.chelsea()[:, :300],
        cartoon(200, 300, (250, 215, 180), (40, 120, 220)),
    ]
    together = drawing_scores(images)
    for row, image in enumerate(images):
        np.testing.assert_allclose(drawing_scores([image])[0], together[row], atol=1e-5)
    assert drawing_probability(images[2]) == pytest.approx(float(together[2, DRAWING]), abs=1e-5)


def test_preprocess_squashes_to_the_model_side_in_unit_range() -> None:
    image = data.coffee()  # 400 × 600: squashed, not cropped
    tensor = preprocess(image)
    assert tensor.shape == (MODEL_SIDE, MODEL_SIDE, 3)
    assert tensor.dtype == np.float32
    assert tensor.min() >= 0.0 and tensor.max() <= 1.0
    # alignCorners: the corner samples are the picture's corner pixels, divided by 255.
    for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        np.testing.assert_array_equal(tensor[y, x], image[y, x].astype(np.float32) / 255)


def test_preprocess_keeps_a_model_sized_picture_as_it_is() -> None:
    image = np.ascontiguousarray(data.astronaut()[:MODEL_SIDE, :MODEL_SIDE])
    np.testing.assert_array_equal(preprocess(image), image.astype(np.float32) / np.float32(255))


def test_preprocess_interpolates_between_neighbours() -> None:
    # A 2-pixel-wide picture, black then white: with corners aligned the 224 samples run from
    # one pixel to the other in equal steps.
    image = np.zeros((1, 2, 3), np.uint8)
    image[0, 1] = 255
    row = preprocess(image)[0, :, 0]
    np.testing.assert_allclose(row, np.linspace(0.0, 1.0, MODEL_SIDE), atol=1e-7)


def test_rejects_what_is_not_an_rgb_uint8_image() -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        drawing_scores([data.camera()])  # greyscale
    with pytest.raises(ValueError, match="RGB uint8"):
        drawing_scores([data.chelsea().astype(np.float32)])


def test_the_model_ships_small_with_its_licence() -> None:
    assert 2_500_000 < MODEL_FILE.stat().st_size < 3_500_000
    licence = (MODEL_FILE.parent / "NSFWJS-LICENSE.txt").read_text()
    assert "nsfwjs 4.4.0" in licence
    assert "MIT License" in licence
    assert "Permission is hereby granted, free of charge" in licence


def test_a_missing_model_names_the_conversion(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"absent.onnx is missing: run tools/nsfwjs/convert.py"):
        StylisationModel(tmp_path / "absent.onnx")


def test_a_forked_child_builds_its_own_session() -> None:
    parent = stylisation.stylisation_model()
    assert stylisation.stylisation_model() is parent
    expected = drawing_scores([data.coffee()])

    def check() -> list[bool]:
        own = stylisation.stylisation_model() is not parent
        return [own, bool(np.allclose(drawing_scores([data.coffee()]), expected, atol=1e-5))]

    assert in_a_forked_child(check) == [True, True]
    assert stylisation.stylisation_model() is parent
