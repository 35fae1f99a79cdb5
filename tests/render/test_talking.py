"""A character's mouth moving with its voice: the mouth found on a cartoon cut-out, opened as
far as the voice is loud, and a render whose speaking character opens it while its voice plays."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from troupe.media.encode import AUDIO_RATE
from troupe.media.synthetic import write_bytes_file
from troupe.render.animatic.production import produce
from troupe.render.animatic.talking import Mouth, Talking, find_mouth, loudness, open_mouth
from troupe.render.audio import speech_windows
from troupe.render.backend import CastMember, RenderRequest

RED, WHITE = (220, 60, 40, 255), (250, 250, 250, 255)
BLACK, MAROON = (10, 10, 10, 255), (90, 15, 20, 255)
MOUTH_AT, MOUTH_HALF = (100, 150), (22, 5)


def face(mouth: bool = True, eyes: bool = True) -> np.ndarray:
    """A round red cartoon 200x260, RGBA: two white eyes with round black pupils, and a dark
    mouth under them (unless not)."""
    image = np.zeros((260, 200, 4), np.uint8)
    cv2.ellipse(image, (100, 130), (90, 125), 0, 0, 360, RED, -1, cv2.LINE_AA)
    for x in (70, 130) if eyes else ():
        cv2.circle(image, (x, 95), 16, WHITE, -1, cv2.LINE_AA)
        cv2.circle(image, (x, 97), 7, BLACK, -1, cv2.LINE_AA)
    if mouth:
        cv2.ellipse(image, MOUTH_AT, MOUTH_HALF, 0, 0, 360, MAROON, -1, cv2.LINE_AA)
    return image


def dark_near_mouth(rgba: np.ndarray) -> int:
    x, y = MOUTH_AT
    region = rgba[y - 20 : y + 40, x - 40 : x + 40, :3].astype(int)
    return int((region.sum(axis=2) < 200).sum())


def test_the_mouth_drawn_on_a_cartoon_is_found_and_not_its_pupils() -> None:
    mouth = find_mouth(face())
    assert mouth is not None
    assert abs(mouth.x - MOUTH_AT[0]) <= 2 and abs(mouth.y - MOUTH_AT[1]) <= 2
    assert abs(mouth.half_width - MOUTH_HALF[0]) <= 3
    assert find_mouth(face(mouth=False)) is None  # the pupils are round, and off the middle
    assert find_mouth(face(eyes=False)) is None  # a dark mark with no eyes above: a label
    # Drawn on fur or print (a photographed toy, a product), dark marks are rarely a mouth.
    textured = face()
    grain = np.random.default_rng(1).integers(-40, 40, (*textured.shape[:2], 1))
    textured[:, :, :3] = np.clip(textured[:, :, :3] + grain, 0, 255).astype(np.uint8)
    assert find_mouth(textured) is None
    ball = np.zeros((200, 200, 4), np.uint8)
    cv2.circle(ball, (100, 100), 90, RED, -1, cv2.LINE_AA)
    assert find_mouth(ball) is None


def test_an_open_mouth_grows_downwards_and_nothing_else_moves() -> None:
    drawn = face()
    mouth = find_mouth(drawn)
    assert mouth is not None
    assert open_mouth(drawn, mouth, 0.0) is drawn
    half, wide = open_mouth(drawn, mouth, 0.5), open_mouth(drawn, mouth, 1.0)
    shut = dark_near_mouth(drawn)
    assert shut < dark_near_mouth(half) < dark_near_mouth(wide)
    assert dark_near_mouth(wide) >= 1.8 * shut
    changed = np.nonzero((wide != drawn).any(axis=2))
    ys, xs = changed
    assert ys.min() >= MOUTH_AT[1] - 1 and abs(xs - MOUTH_AT[0]).max() <= 1.5 * MOUTH_HALF[0] + 1
    # the eyes and the outline are as drawn
    assert np.array_equal(wide[:130], drawn[:130])


def test_loudness_follows_the_voice_inside_its_window() -> None:
    rate = AUDIO_RATE
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate).astype(np.float32)
    voice = np.stack([np.concatenate([np.zeros(rate // 2, np.float32), tone])] * 2)
    loud = loudness(voice, (1.0, 2.0))
    assert loud(0.5) == loud(2.5) == 0.0  # before and after the window
    assert loud(1.2) == 0.0  # its silent first half
    assert loud(1.7) > 0.9


def test_a_speaking_character_opens_its_mouth_while_its_voice_plays(tmp_path: Path) -> None:
    picture, voice = tmp_path / "face.png", tmp_path / "voice.m4a"
    Image.fromarray(face()).save(picture)
    write_bytes_file(voice, "m4a")  # a 1 s 440 Hz tone
    member = CastMember("char_face", "face", "Face", (picture,), voice)
    request = RenderRequest("@face talking in a park", (member,), 4, 640, 360, seed=2)
    actor = produce(request).compositor.actors[0]
    assert isinstance(actor.moves, Talking)
    [(start, end)] = [w for w in speech_windows([1.0], 4) if w]
    assert actor.look(start - 0.2) is actor.cutout and actor.look(end + 0.2) is actor.cutout
    speaking = actor.look((start + end) / 2)
    assert speaking.rgba.shape == actor.cutout.rgba.shape
    assert not np.array_equal(speaking.rgba, actor.cutout.rgba)
    mouth = actor.moves.mouth
    assert isinstance(mouth, Mouth)
    # what changed lies at the mouth and under it
    ys, _ = np.nonzero((speaking.rgba != actor.cutout.rgba).any(axis=2))
    assert ys.min() >= mouth.y - 1


def test_a_character_without_a_voice_or_a_mouth_keeps_its_cut_out(tmp_path: Path) -> None:
    picture, plain, voice = tmp_path / "face.png", tmp_path / "plain.png", tmp_path / "v.m4a"
    Image.fromarray(face()).save(picture)
    Image.fromarray(face(mouth=False)).save(plain)
    write_bytes_file(voice, "m4a")
    silent = CastMember("char_face", "face", "Face", (picture,), None)
    mouthless = CastMember("char_plain", "plain", "Plain", (plain,), voice)
    for member in (silent, mouthless):
        request = RenderRequest(f"@{member.username} talking", (member,), 4, 640, 360, seed=2)
        assert produce(request).compositor.actors[0].moves is None
