"""Reading video requests: defaults, every accepted shape, and the error for each bad field."""

from __future__ import annotations

from typing import Any

import pytest

from troupe.errors import TroupeError
from troupe.videos.intake import SECONDS, SIZES, VideoLimits, read_video_request

LIMITS = VideoLimits(
    models=("sora-2", "sora-2-pro"),
    default_model="sora-2",
    aliases={"sora-2.0-turbo": "sora-2"},
    max_prompt_chars=200,
    max_characters=4,
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


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"character_url": "file:///etc/passwd"}, "character_url"),
        ({"input_reference": {"image_url": "ftp://a/b.png"}}, "input_reference.image_url"),
    ],
)
def test_source_urls_must_be_http(body: dict[str, Any], param: str) -> None:
    with pytest.raises(TroupeError) as caught:
        read(**body)
    assert (caught.value.code, caught.value.param) == ("url_not_allowed", param)


def test_bad_character_timestamps() -> None:
    with pytest.raises(TroupeError) as caught:
        read(character_url="https://a/b.mp4", character_timestamps="3,1")
    assert caught.value.code == "invalid_timestamps"


def test_duration_is_seconds_under_the_seeds_name() -> None:
    assert read(duration=10).seconds == 10
    assert read(duration="8", seconds="8").seconds == 8


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"duration": 7}, "duration"),
        ({"duration": "10", "seconds": "4"}, "duration"),
        ({"seconds": "\u0664"}, "seconds"),  # an Arabic-Indic four is not a number here
        ({"resolution": "4k"}, "resolution"),
        ({"aspect_ratio": "16:9"}, "aspect_ratio"),
    ],
)
def test_a_field_is_honoured_or_refused_never_ignored(body: dict[str, Any], param: str) -> None:
    with pytest.raises(TroupeError) as caught:
        read(**body)
    assert (caught.value.code, caught.value.param) == ("invalid_request", param)


@pytest.mark.parametrize(
    ("size", "resolution", "expected"),
    [
        (None, "1080p", "1920x1080"),
        (None, "720p", "1280x720"),
        ("720x1280", "1080p", "1080x1920"),
        ("1920x1080", "720P", "1280x720"),
        ("1080x1920", None, "1080x1920"),
    ],
)
def test_resolution_scales_the_size(
    size: str | None, resolution: str | None, expected: str
) -> None:
    assert read(size=size, resolution=resolution).size == expected


def test_model_aliases_name_a_served_model() -> None:
    assert read(model="sora-2.0-turbo").model == "sora-2"
    with pytest.raises(TroupeError) as caught:
        read(model="sora-3")
    assert "sora-2.0-turbo" in caught.value.message


def test_a_finished_task_id_as_character_url_is_a_task_source() -> None:
    inline = read(character_url="task_0123456789abcdef").inline
    assert inline is not None
    assert inline.source == {
        "type": "task",
        "task_id": "task_0123456789abcdef",
        "param": "character_url",
    }
