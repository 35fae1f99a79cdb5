"""Reading video requests: defaults, every accepted shape, and the error for each bad field."""

from __future__ import annotations

from typing import Any

import pytest

from troupe.errors import TroupeError
from troupe.videos.intake import SECONDS, SIZES, VideoLimits, read_video_request

LIMITS = VideoLimits(
    models=("sora-2", "sora-2-pro"), default_model="sora-2", max_prompt_chars=200, max_characters=4
)


def read(**body: Any) -> Any:
    return read_video_request({"prompt": "@rex runs on a beach", **body}, LIMITS)


def test_defaults_follow_the_official_api() -> None:
    request = read()
    assert (request.model, request.seconds, request.size) == ("sora-2", 4, "720x1280")
    assert (request.width, request.height) == (720, 1280)
    assert request.mentioned == ("rex",)
    assert request.listed == () and request.inline is None


@pytest.mark.parametrize("seconds", [*SECONDS, *(str(s) for s in SECONDS)])
def test_every_seconds_value(seconds: object) -> None:
    assert read(seconds=seconds).seconds == int(str(seconds))


@pytest.mark.parametrize("size", SIZES)
def test_every_size(size: str) -> None:
    assert read(size=size).size == size


def test_characters_in_every_shape_in_order_once() -> None:
    request = read(characters=[{"id": "char_a"}, "char_b", {"id": "char_a"}], character_ids="@cat")
    assert request.listed == ("char_a", "char_b", "cat")


def test_inline_character_from_url() -> None:
    request = read(
        prompt="@newbie dances",
        character_url="https://example.com/clip.mp4",
        character_timestamps="1,3",
        character_username="newbie",
    )
    assert request.inline is not None
    assert request.inline.source == {"type": "url", "url": "https://example.com/clip.mp4"}
    assert request.inline.timestamps == "1,3"
    # The inline character's own handle is not an unknown mention.
    assert request.mentioned == ()


def test_input_reference_by_url() -> None:
    request = read(input_reference={"image_url": "https://example.com/bg.png"})
    assert request.reference_url == "https://example.com/bg.png"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 201}, "prompt"),
        ({"model": "sora-3"}, "model"),
        ({"seconds": "5"}, "seconds"),
        ({"seconds": "four"}, "seconds"),
        ({"size": "640x480"}, "size"),
        ({"characters": [{"name": "x"}]}, "characters"),
        ({"characters": ["char_1", "char_2", "char_3", "char_4", "char_5"]}, "characters"),
        ({"character_url": "https://a/b.mp4", "character_from_task": "video_1"}, "character_url"),
        ({"input_reference": {"file_id": "file_1"}}, "input_reference"),
        ({"input_reference": 7}, "input_reference"),
    ],
)
def test_bad_fields_name_their_param(body: dict[str, Any], param: str) -> None:
    with pytest.raises(TroupeError) as caught:
        read(**body)
    assert caught.value.code == "invalid_request"
    assert caught.value.param == param


def test_character_url_must_be_http() -> None:
    with pytest.raises(TroupeError) as caught:
        read(character_url="file:///etc/passwd")
    assert caught.value.code == "url_not_allowed"


def test_bad_character_timestamps() -> None:
    with pytest.raises(TroupeError) as caught:
        read(character_url="https://a/b.mp4", character_timestamps="3,1")
    assert caught.value.code == "invalid_timestamps"
