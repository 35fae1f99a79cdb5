"""Anime faces found by the animeface wheel's AnimeFace detector, on faces drawn here with cv2."""

from __future__ import annotations

import logging
import threading
from importlib.metadata import PackageNotFoundError
from importlib.util import find_spec

import cv2
import numpy as np
import pytest

from tests.characters.drawing import background, draw_sprite
from troupe.characters import anime_faces
from troupe.characters.anime_faces import find_anime_faces

needs_animeface = pytest.mark.skipif(
    find_spec("animeface") is None, reason="animeface is not installed (see scripts/setup)"
)

# Where anime_face() draws the face (cheeks to chin, fringe to mouth) in a 256 px picture.
FACE_256 = (62, 90, 132, 132)


def anime_face(side: int = 256, dot_eyes: bool = False) -> np.ndarray:
    """A manga-style face on white: fringe, pointed chin, big eyes with highlights (or, with
    `dot_eyes`, the same face with a western cartoon's dots for eyes)."""
    img = np.full((256, 256, 3), 255, np.uint8)
    ink, skin, hair = (40, 30, 30), (255, 228, 210), (120, 60, 40)
    cv2.ellipse(img, (128, 112), (84, 92), 0, 0, 360, hair, -1, cv2.LINE_AA)
    face = np.array([(62, 96), (194, 96), (192, 150), (170, 190), (128, 222), (86, 190), (64, 150)])
    cv2.fillPoly(img, [face], skin, cv2.LINE_AA)
    cv2.polylines(img, [face], True, ink, 2, cv2.LINE_AA)
    bangs = [(52, 110), (60, 40), (128, 24), (196, 40), (204, 110), (186, 80), (170, 112)]
    bangs += [(150, 76), (128, 108), (106, 76), (86, 112), (70, 80)]
    cv2.fillPoly(img, [np.array(bangs)], hair, cv2.LINE_AA)
    for x in (96, 160):
        if dot_eyes:
            cv2.circle(img, (x, 140), 5, ink, -1, cv2.LINE_AA)
            continue
        cv2.ellipse(img, (x, 138), (17, 22), 0, 0, 360, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.ellipse(img, (x, 141), (13, 19), 0, 0, 360, (60, 80, 170), -1, cv2.LINE_AA)
        cv2.ellipse(img, (x, 143), (7, 10), 0, 0, 360, (20, 20, 40), -1, cv2.LINE_AA)
        cv2.circle(img, (x - 5, 133), 5, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.ellipse(img, (x, 138), (19, 22), 0, 200, 340, ink, 4, cv2.LINE_AA)
    cv2.line(img, (126, 170), (128, 174), ink, 2, cv2.LINE_AA)
    cv2.ellipse(img, (128, 192), (10, 5), 0, 10, 170, ink, 2, cv2.LINE_AA)
    if side == 256:
        return img
    interpolation = cv2.INTER_AREA if side < 256 else cv2.INTER_CUBIC
    return cv2.resize(img, (side, side), interpolation=interpolation)


def overlap(a: tuple[int, int, int, int], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@needs_animeface
@pytest.mark.parametrize("side", [96, 160, 256, 400])
def test_finds_a_drawn_anime_face_at_any_size(side: int) -> None:
    faces = find_anime_faces(anime_face(side))
    assert len(faces) == 1
    x, y, w, h = (v * side / 256 for v in FACE_256)
    assert overlap(faces[0].box, (x, y, w, h)) > 0.5
    assert faces[0].likelihood > 0.9


@needs_animeface
def test_finds_a_face_that_fills_the_crop() -> None:
    # Bigger than the detector's largest window unless the crop is padded first.
    x, y, w, h = FACE_256
    crop = np.ascontiguousarray(anime_face()[y : y + h, x : x + w])
    faces = find_anime_faces(crop)
    assert len(faces) == 1
    assert overlap(faces[0].box, (0, 0, w, h)) > 0.5


@needs_animeface
def test_finds_the_face_in_a_frame_and_gives_frame_pixels() -> None:
    frame = np.ascontiguousarray(background(1280, 720).clip(0, 255).astype(np.uint8))
    frame[300:556, 700:956] = anime_face()
    faces = find_anime_faces(frame)
    assert len(faces) == 1
    x, y, w, h = FACE_256
    assert overlap(faces[0].box, (700 + x, 300 + y, w, h)) > 0.4


@needs_animeface
def test_ignores_a_cartoon_blob_and_dot_eyes() -> None:
    frame = np.ascontiguousarray(background(640, 360).clip(0, 255).astype(np.uint8))
    assert find_anime_faces(frame) == []
    draw_sprite(frame, 320, 180, 120)
    assert find_anime_faces(frame) == []
    # The same drawing with dots for eyes is at most a borderline face.
    assert all(f.likelihood < 0.7 for f in find_anime_faces(anime_face(dot_eyes=True)))


@needs_animeface
def test_threads_get_the_same_answer() -> None:
    pictures = [anime_face(side) for side in (128, 192, 256, 320)]
    alone = [find_anime_faces(p) for p in pictures]
    together: list[list[anime_faces.AnimeFace]] = [[] for _ in pictures]

    def run(index: int) -> None:
        together[index] = find_anime_faces(pictures[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(pictures))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [[f.box for f in faces] for faces in together] == [
        [f.box for f in faces] for faces in alone
    ]


def test_wants_rgb_uint8() -> None:
    with pytest.raises(ValueError):
        find_anime_faces(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError):
        find_anime_faces(np.zeros((64, 64, 3), np.float32))


@pytest.fixture
def fresh_detector():
    anime_faces._detector.cache_clear()
    yield
    anime_faces._detector.cache_clear()


def test_missing_package_finds_nothing_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh_detector: None
) -> None:
    def not_installed(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(anime_faces, "version", not_installed)
    with caplog.at_level(logging.WARNING, logger=anime_faces.__name__):
        assert find_anime_faces(anime_face()) == []
        assert find_anime_faces(anime_face()) == []
    said = [r.message for r in caplog.records if "anime-face" in r.message]
    assert len(said) == 1
    assert "not installed" in said[0]


def test_other_animeface_builds_are_not_trusted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh_detector: None
) -> None:
    # The struct handed to the detector mirrors the one 2.0.3 was compiled against.
    monkeypatch.setattr(anime_faces, "version", lambda name: "2.1.0")
    with caplog.at_level(logging.WARNING, logger=anime_faces.__name__):
        assert find_anime_faces(anime_face()) == []
    assert "animeface 2.1.0 installed" in caplog.text
