"""Pure request logic: timestamps, usernames, and reading the creation shapes."""

from __future__ import annotations

import pytest

from troupe.characters.intake import read_json_request, read_upload_request
from troupe.characters.timestamps import Window, check_within, parse_timestamps
from troupe.characters.usernames import (
    check_username,
    derive_username,
    name_from_filename,
    name_from_source,
    name_from_title,
    slugify,
)
from troupe.errors import TroupeError


@pytest.mark.parametrize(
    ("raw", "window"),
    [
        ("1,3", Window(1, 3)),
        ("1.5,3.25", Window(1.5, 3.25)),
        (" 2 , 4 ", Window(2, 4)),
        ("0,1", Window(0, 1)),
        (".5,2", Window(0.5, 2)),
        ("12,15", Window(12, 15)),
    ],
)
def test_parse_timestamps_accepts(raw: str, window: Window) -> None:
    assert parse_timestamps(raw) == window


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1",
        "1,",
        ",3",
        "a,b",
        "1,2,3",
        "-1,1",
        "3,1",
        "1,1.9",
        "1,4.5",
        "1e0,3",
        "0x1,3",
        "١,٣",
        "1,٣",
        "１,３",
    ],
)
def test_parse_timestamps_refuses(raw: str) -> None:
    with pytest.raises(TroupeError) as caught:
        parse_timestamps(raw)
    assert caught.value.code == "invalid_timestamps"
    assert caught.value.param == "timestamps"


def test_window_text_is_normalised() -> None:
    assert str(parse_timestamps(" 1.50 , 3 ")) == "1.5,3"


def test_check_within_duration() -> None:
    check_within(Window(2, 4), 4.02)
    with pytest.raises(TroupeError, match="past the video's duration"):
        check_within(Window(2, 4.5), 4.0)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme Mascot!", "acme_mascot"),
        ("Café Olé", "cafe_ole"),
        ("char_bob", "bob"),
        ("char_char_bob", "bob"),
        ("🙂", ""),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_derive_username_avoids_taken_names() -> None:
    taken = {"acme_mascot"}
    username = derive_username("Acme Mascot", taken.__contains__)
    assert username.startswith("acme_mascot_") and username not in taken
    assert derive_username(None, taken.__contains__) == "character"
    assert derive_username("Al", taken.__contains__) == "al_char"
    assert 3 <= len(derive_username("x" * 200, taken.__contains__)) <= 30


@pytest.mark.parametrize("bad", ["ab", "a" * 31, "has space", "char_x", ".dot", "dot.", "ü_name"])
def test_check_username_refuses(bad: str) -> None:
    with pytest.raises(TroupeError) as caught:
        check_username(bad)
    assert caught.value.code == "invalid_request" and caught.value.param == "username"


def test_check_username_normalises() -> None:
    assert check_username("@Acme.Mascot_2") == "acme.mascot_2"


def test_read_json_request_shapes() -> None:
    by_url = read_json_request(
        {"model": "sora-2-character", "url": "https://cdn.test/a.mp4", "timestamps": "1,3"}
    )
    assert by_url.source == {"type": "url", "url": "https://cdn.test/a.mp4"}
    assert by_url.timestamps == "1,3"
    by_alias = read_json_request({"video_url": "http://cdn.test/a.mp4", "prompt": ""})
    assert by_alias.source["url"] == "http://cdn.test/a.mp4" and by_alias.timestamps is None
    by_task = read_json_request({"video_id": "video_1", "timestamps": "0,2"})
    assert by_task.source == {"type": "task", "task_id": "video_1"}
    assert by_task.model == "sora-character"


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"url": "gopher://x/a.mp4"}, "url_not_allowed", "url"),
        ({"url": "http:///nohost"}, "url_not_allowed", "url"),
        ({"url": "", "from_task": ""}, "invalid_request", "url"),
        ({"from_task": 5}, "invalid_request", "from_task"),
        ({"url": "http://a/b", "name": "  "}, "invalid_request", "name"),
        ({"url": "http://a/b", "prompt": "a cat"}, "invalid_request", "prompt"),
        ({"url": "http://a/b", "style": "anime"}, "invalid_request", "style"),
    ],
)
def test_read_json_request_refuses(body: dict, code: str, param: str) -> None:
    with pytest.raises(TroupeError) as caught:
        read_json_request(body)
    assert (caught.value.code, caught.value.param) == (code, param)


def test_read_upload_request() -> None:
    upload = read_upload_request("Mascot", "", None, "clip.mp4")
    assert upload.source == {"type": "upload", "filename": "clip.mp4"} and upload.timestamps is None
    # The SDK always sends a name; without one the job names the character after the file.
    assert read_upload_request(None, None, None, "clip.mp4").name is None
    with pytest.raises(TroupeError):
        read_upload_request("  ", None, None, "clip.mp4")


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("acme-mascot_v2.mp4", "acme mascot v2"),
        ("Red Panda.MOV", "Red Panda"),
        ("C:\\clips\\hero.webm", "hero"),
        ("/tmp/uploads/hero.final.mkv", "hero final"),
        ("マスコット.mp4", "マスコット"),
        ("tab\there.mp4", "tab here"),
        ("IMG_1234.MOV", "IMG 1234"),
        ("x" * 200 + ".mp4", "x" * 80),
        ("12345.mp4", None),
        ("video.mp4", None),
        ("blob", None),
        ("", None),
        (".mp4", None),
    ],
)
def test_name_from_filename(filename: str, name: str | None) -> None:
    assert name_from_filename(filename) == name


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ({"type": "upload", "filename": "fox_cub.mp4"}, "fox cub"),
        ({"type": "upload", "filename": None}, None),
        (
            {"type": "url", "url": "https://cdn.test/clips/Blue%20Fox-v2.mp4?sig=1#t=2"},
            "Blue Fox v2",
        ),
        ({"type": "url", "url": "https://cdn.test/mascots/otter/"}, "otter"),
        ({"type": "url", "url": "https://cdn.test/"}, None),
        ({"type": "url", "url": "https://cdn.test/download?id=7"}, None),
        ({"type": "task", "task_id": "video_1"}, None),
    ],
)
def test_name_from_source(source: dict, name: str | None) -> None:
    assert name_from_source(source) == name


def test_a_name_from_a_file_makes_a_valid_username() -> None:
    for filename in ("acme-mascot_v2.mp4", "char_char_x.mp4", "Ol.mp4", "マスコット.mp4"):
        username = derive_username(name_from_filename(filename), lambda _: False)
        assert check_username(username) == username


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Big Buck Bunny", "Big Buck Bunny"),
        ("  Acme\tMascot \n(take 2) ", "Acme Mascot (take 2)"),
        ("Video", None),
        ("2026-12-06 18:04", None),
        ("", None),
        (None, None),
        ("x" * 300, "x" * 80),
    ],
)
def test_name_from_title(title: str | None, name: str | None) -> None:
    assert name_from_title(title) == name
