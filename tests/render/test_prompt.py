"""Reading prompts: scene words, each character's action, the camera move."""

from __future__ import annotations

import pytest

from troupe.render.backend import CastMember
from troupe.render.prompt import (
    DEFAULT_ACTION,
    DEFAULT_CAMERA,
    PLACES,
    ScenePlan,
    parse_prompt,
    tokenize,
)

BOLT = CastMember("char_0a1b2c", "bolt", "Bolt", (), None)
PIP = CastMember("char_9f8e7d", "pip.bird", "Pip the Bird", (), None)


@pytest.mark.parametrize(
    ("prompt", "place"),
    [
        ("@bolt on a sunny beach", "beach"),
        ("deep in the woods", "forest"),
        ("walking down a busy street", "city"),
        ("a night market full of lanterns", "market"),
        ("crossing the desert dunes", "desert"),
        ("high in the snowy mountains", "mountain"),
        ("floating in outer space", "space"),
        ("under the sea near a reef", "underwater"),
        ("the ocean floor", "underwater"),
        ("baking in the kitchen", "kitchen"),
        ("in the living room", "room"),
        ("a picnic in the park", "park"),
        ("on stage at a concert", "stage"),
        ("somewhere", "park"),
    ],
)
def test_places(prompt: str, place: str) -> None:
    assert parse_prompt(prompt).scene.place == place


def test_every_place_is_named_by_its_own_key() -> None:
    for place in PLACES:
        assert parse_prompt(f"a {place}").scene.place == place


@pytest.mark.parametrize(
    ("prompt", "time", "weather"),
    [
        ("a beach at sunrise", "dawn", "clear"),
        ("a rainy afternoon downtown", "day", "rain"),
        ("a city at dusk in the fog", "sunset", "fog"),
        ("a snowy night", "night", "snow"),
        ("a windy hill at golden hour", "sunset", "wind"),
        ("a field", "day", "clear"),
    ],
)
def test_time_of_day_and_weather(prompt: str, time: str, weather: str) -> None:
    scene = parse_prompt(prompt).scene
    assert (scene.time_of_day, scene.weather) == (time, weather)


def test_palette_words_in_order_once_each() -> None:
    scene = parse_prompt("neon pink signs, more pink, a pastel sky, black and white film").scene
    assert scene.palette == ("neon", "pink", "pastel", "monochrome")
    assert parse_prompt("a park").scene == ScenePlan()


def test_a_mention_takes_the_next_verb_in_its_sentence() -> None:
    plan = parse_prompt("@bolt walks along the shore while @pip.bird flies overhead.", [BOLT, PIP])
    assert plan.actions == ("walk", "fly")


def test_mentions_by_id_display_name_and_a_shared_verb() -> None:
    assert parse_prompt("@char_0a1b2c and Pip the Bird dance", [BOLT, PIP]).actions == (
        "dance",
        "dance",
    )


def test_without_a_verb_of_its_own_a_character_takes_the_prompts_first() -> None:
    plan = parse_prompt("Everyone is jumping. @bolt is here. Later @pip.bird spins", [BOLT, PIP])
    assert plan.actions == ("jump", "spin")
    assert parse_prompt("@bolt and @pip.bird at the beach", [BOLT, PIP]).actions == (
        DEFAULT_ACTION,
        DEFAULT_ACTION,
    )


@pytest.mark.parametrize(
    ("prompt", "action"),
    [
        ("@bolt runs", "run"),
        ("@bolt leaps", "jump"),
        ("@bolt twirls", "spin"),
        ("@bolt is soaring", "fly"),
        ("@bolt waves hello", "wave"),
        ("@bolt skateboarding", "skate"),
        ("@bolt swims", "swim"),
        ("@bolt sits", "sit"),
        ("@bolt hops", "bounce"),
        ("@bolt stands", "idle"),
        ("@bolt watches the ocean waves crash", DEFAULT_ACTION),
    ],
)
def test_verbs(prompt: str, action: str) -> None:
    assert parse_prompt(prompt, [BOLT]).actions == (action,)


@pytest.mark.parametrize(
    ("prompt", "camera"),
    [
        ("slow zoom in on @bolt", "zoom_in"),
        ("the camera pulls back", "zoom_out"),
        ("pan to the left across the beach", "pan_left"),
        ("the camera slowly pans over the city", "pan_right"),
        ("an orbit shot", "orbit"),
        ("the camera circles around them", "orbit"),
        ("a tracking shot", "track"),
        ("the camera follows @bolt", "track"),
        ("static shot", "static"),
        ("@bolt follows @pip.bird and flips pans", DEFAULT_CAMERA),
    ],
)
def test_camera_moves(prompt: str, camera: str) -> None:
    assert parse_prompt(prompt, [BOLT, PIP]).camera == camera


def test_tokens_keep_mentions_and_end_sentences() -> None:
    assert tokenize("Hi @Bolt. Close-up!") == ["hi", "@bolt", ".", "close", "up", "."]
