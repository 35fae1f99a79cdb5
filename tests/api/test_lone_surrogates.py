"""Text holding a lone UTF-16 surrogate, which JSON's `\\ud800` escape and a multipart charset
can carry but nothing can store, is refused where it comes in, naming the field."""

from __future__ import annotations

import pytest

from tests.api.test_errors import assert_error
from tests.support import ServerProcess
from troupe.api.text import lone_surrogate_path

VIDEO = "video_0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/videos", r'{"prompt": "\ud800 hi"}', "prompt"),
        (f"/v1/videos/{VIDEO}/remix", r'{"prompt": "\ud800 hi"}', "prompt"),
        (
            "/v1/videos/extensions",
            r'{"prompt": "\udfff", "video": {"id": "' + VIDEO + '"}}',
            "prompt",
        ),
        ("/v1/videos/edits", r'{"prompt": "hi", "video": {"id": "video_\ud800"}}', "video.id"),
        (
            "/v1/videos",
            r'{"prompt": "hi", "input_reference": {"image_url": "http://127.0.0.1/\ud800.png"}}',
            "input_reference.image_url",
        ),
        (
            "/v1/videos",
            r'{"prompt": "hi", "characters": [{"id": "char_\ud800"}]}',
            "characters.0.id",
        ),
        ("/v1/videos", r'{"prompt": "hi", "\udc00": 1}', r"\udc00"),
        (
            "/v1/characters",
            r'{"url": "http://127.0.0.1/a.mp4", "name": "\ud800", "async": true}',
            "name",
        ),
        ("/v1/characters", r'{"url": "http://127.0.0.1/\ud800.mp4", "async": true}', "url"),
        ("/v1/videos/generations", r'{"video_url": "http://127.0.0.1/\ud800.mp4"}', "video_url"),
        ("/v1/characters/windows", r'{"url": "http://127.0.0.1/\ud800.mp4"}', "url"),
    ],
)
def test_json_text_with_a_lone_surrogate_is_refused(
    server: ServerProcess, path: str, body: str, param: str
) -> None:
    with server.client() as client:
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    message = assert_error(response, 400, "invalid_request", param)
    assert "surrogate" in message


def multipart(fields: dict[str, bytes], files: dict[str, bytes]) -> bytes:
    parts = [
        b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name.encode(), value)
        for name, value in fields.items()
    ]
    parts += [
        b'--b\r\nContent-Disposition: form-data; name="%s"; filename="f.mp4"\r\n'
        b"Content-Type: video/mp4\r\n\r\n%s\r\n" % (name.encode(), value)
        for name, value in files.items()
    ]
    return b"".join(parts) + b"--b--\r\n"


@pytest.mark.parametrize(
    ("path", "fields", "files", "param"),
    [
        ("/v1/videos", {"prompt": rb"\ud800 hi"}, {}, "prompt"),
        ("/v1/videos/characters", {"name": rb"Star \udbff"}, {"video": b"not read"}, "name"),
    ],
)
def test_a_form_whose_charset_carries_a_lone_surrogate_is_refused(
    server: ServerProcess, path: str, fields: dict[str, bytes], files: dict[str, bytes], param: str
) -> None:
    """The form parser decodes fields in the charset the Content-Type names, and
    `unicode_escape` turns `\\ud800` into the surrogate itself."""
    headers = {
        "Content-Type": "multipart/form-data; boundary=b; charset=unicode_escape",
        "Prefer": "respond-async",
    }
    with server.client() as client:
        response = client.post(path, content=multipart(fields, files), headers=headers)
    assert_error(response, 400, "invalid_request", param)


def test_a_surrogate_pair_is_text(server: ServerProcess) -> None:
    """An escaped pair is one character outside the BMP, stored and answered as such."""
    with server.client() as client:
        response = client.post(
            "/v1/videos",
            content=r'{"prompt": "a kite \ud83e\ude81 over the sea"}',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        assert client.delete(f"/v1/videos/{response.json()['id']}").is_success  # not wanted
    assert response.json()["prompt"] == "a kite \U0001fa81 over the sea"


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"prompt": "a kite \U0001fa81"}, None),
        ({"prompt": "\ud800"}, "prompt"),
        ({"video": {"id": "video_\udc00"}}, "video.id"),
        ({"characters": [{"id": "a"}, {"id": "b\udfff"}]}, "characters.1.id"),
        ({"ok": "x", "\ud800key": "y"}, "\\ud800key"),
        ({"deep": [[[[["\ud800"]]]]]}, "deep.0.0.0.0.0"),
        ("\ud800", ""),
        ({"upload": object(), "n": 3, "none": None}, None),
    ],
)
def test_lone_surrogate_path(value: object, path: str | None) -> None:
    assert lone_surrogate_path(value) == path
