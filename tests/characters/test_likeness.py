"""The likeness decision: which people count against a character, and the three bands."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from tests.characters.drawing import background, draw_sprite
from troupe.characters.humans import HumanSighting, find_humans
from troupe.characters.likeness import (
    DRAWN,
    NON_HUMAN,
    PHOTOGRAPHED,
    PHOTOGRAPHIC,
    RENDERED,
    Evidence,
    counts_against_subject,
    faces_on_subject,
    judge_likeness,
)
from troupe.media.frames import Frame

W, H = 640, 360


@pytest.mark.parametrize(
    ("drawing", "anime", "animal", "verdict"),
    [
        (DRAWN, 0.0, 0.0, "character"),
        (0.0, 0.0, NON_HUMAN, "character"),
        (PHOTOGRAPHED, 0.0, PHOTOGRAPHED, "person"),
        (0.0, 0.0, 0.0, "person"),
        (DRAWN - 0.01, 0.0, 0.0, "uncertain"),
        (PHOTOGRAPHED + 0.01, 0.0, 0.0, "uncertain"),
        (0.0, 0.0, NON_HUMAN - 0.01, "uncertain"),
        # Anime faces alone never accept: the detector also fires on some real faces.
        (0.0, 1.0, 0.0, "uncertain"),
    ],
)
def test_the_three_bands(drawing: float, anime: float, animal: float, verdict: str) -> None:
    assert Evidence(drawing, anime, animal).verdict() == verdict


@pytest.mark.parametrize(
    ("photograph", "verdict"),
    [(RENDERED, "character"), (RENDERED + 0.01, "uncertain"), (PHOTOGRAPHIC, "person")],
)
def test_faces_that_look_rendered(photograph: float, verdict: str) -> None:
    # No drawing, anime or animal evidence: how photographed the faces look decides.
    assert Evidence(0.0, 0.0, 0.0, photograph).verdict() == verdict


@pytest.mark.parametrize(
    ("photograph", "verdict"),
    [(0.0, "uncertain"), (PHOTOGRAPHIC - 0.01, "uncertain"), (PHOTOGRAPHIC, "person")],
)
def test_bodies_without_faces_never_accept(photograph: float, verdict: str) -> None:
    # Real bodies seen from behind or far away can look rendered to CLIP: a body alone can make
    # a window uncertain, for a person to decide, but never a character.
    evidence = Evidence(0.0, 0.0, 0.0, photograph, of_faces=False)
    assert evidence.verdict() == verdict


# A subject on the left of the frame, a face on it and one beside it.
ON = HumanSighting(0.0, "face", 0.9, (80, 120, 60, 60))
BESIDE = HumanSighting(0.0, "face", 0.9, (450, 120, 60, 60))


def left_subject() -> list[tuple[float, np.ndarray]]:
    mask = np.zeros((H, W), bool)
    mask[100:300, 50:200] = True
    return [(0.0, mask)]


def test_a_sighting_counts_on_the_subject_or_filling_the_frame() -> None:
    image = np.zeros((H, W, 3), np.uint8)
    masks = left_subject()
    on, beside = ON, BESIDE
    # Just past the outline: the grown mask still holds most of it.
    edge = HumanSighting(0.0, "face", 0.9, (185, 150, 40, 40))
    filling = HumanSighting(0.0, "body", 0.9, (300, 0, 340, 360))
    assert counts_against_subject(on, image, masks)
    assert not counts_against_subject(beside, image, masks)
    assert counts_against_subject(edge, image, masks)
    assert counts_against_subject(filling, image, masks)
    assert not counts_against_subject(on, image, [])


def test_only_a_sure_face_on_the_subject_makes_it_a_figure() -> None:
    frames = [Frame(0.0, np.zeros((H, W, 3), np.uint8))]
    masks = left_subject()
    on, beside = ON, BESIDE
    body = HumanSighting(0.0, "body", 0.9, (60, 110, 120, 180))
    tentative = HumanSighting(0.0, "face", 0.6, (80, 120, 60, 60), tentative=True)
    assert faces_on_subject(frames, [beside, on], masks)
    assert not faces_on_subject(frames, [beside], masks)
    assert not faces_on_subject(frames, [body], masks)  # pedestrian detectors fire on posts
    assert not faces_on_subject(frames, [tentative], masks)  # one unsure frame is not enough


def scene_with_a_bystander() -> tuple[list[Frame], list[tuple[float, np.ndarray]]]:
    """A big cartoon character on the left, a small photographed person on the right (a passer-by,
    a statue, a poster), and the character's mask as extraction would give it."""
    person = data.astronaut()[:400, 60:460]
    small = cv2.resize(person, (150, 150), interpolation=cv2.INTER_AREA)
    frames, masks = [], []
    for index in range(6):
        image = background(W, H, seed=1)
        x, y, w, h = draw_sprite(image, 180 + 4 * index, 190, 120)
        image = image.clip(0, 255).astype(np.uint8)
        image[150:300, 460:610] = small
        mask = np.zeros((H, W), bool)
        mask[y : y + h, x : x + w] = True
        time = index / 4
        frames.append(Frame(time, image))
        masks.append((time, mask))
    return frames, masks


def test_a_person_beside_the_character_does_not_make_it_a_person() -> None:
    frames, masks = scene_with_a_bystander()
    sightings = find_humans(frames)
    assert sightings, "the detectors should see the photographed person"
    assert judge_likeness(frames, sightings, masks).verdict == "character"
    # With no character found, the same person is what the window shows.
    assert judge_likeness(frames, sightings, None).verdict == "person"


def test_a_person_on_the_subject_is_refused() -> None:
    frames, _ = scene_with_a_bystander()
    sightings = find_humans(frames)
    on_person = []
    for frame in frames:
        mask = np.zeros((H, W), bool)
        mask[150:300, 460:610] = True
        on_person.append((frame.time, mask))
    judgement = judge_likeness(frames, sightings, on_person)
    assert judgement.verdict == "person"
    assert judgement.refusal().code == "human_likeness_detected"
