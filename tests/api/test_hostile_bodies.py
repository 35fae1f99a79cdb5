"""Bodies no client should send, answered with `invalid_request` rather than a server error."""

from __future__ import annotations

import pytest

from tests.support import ServerProcess

DEEP = 1_200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/videos",
        "/v1/sora/generations",
        "/v1/videos/video_0123456789abcdef01234567/remix",
        "/v1/videos/edits",
        "/v1/videos/extensions",
        "/v1/characters/windows",
        "/v1/characters",
    ],
)
def test_json_nested_too_deep_is_a_bad_request(server: ServerProcess, path: str) -> None:
    body = '{"prompt": ' + "[" * DEEP + "]" * DEEP + "}"
    with server.client() as client:
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_form_keys_nested_too_deep_are_a_bad_request(server: ServerProcess) -> None:
    key = "characters" + "[a]" * DEEP
    with server.client() as client:
        response = client.post("/v1/videos", data={"prompt": "a kite", key: "1"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("path", ["/v1/videos", "/v1/videos/characters"])
def test_multipart_without_a_boundary_says_to_drop_the_header(
    server: ServerProcess, path: str
) -> None:
    with server.client() as client:
        response = client.post(
            path,
            content=b'--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n--x--\r\n',
            headers={"Content-Type": "multipart/form-data"},
        )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "boundary" in error["message"] and "header" in error["message"]


def test_text_fields_sent_as_file_parts_are_read(server: ServerProcess) -> None:
    files = {
        "prompt": ("prompt", b"a paper boat on a pond", "application/octet-stream"),
        "seconds": ("seconds", b"8", "text/plain"),
    }
    with server.client() as client:
        response = client.post("/v1/videos", files=files)
        assert response.status_code == 200, response.text
        assert (response.json()["prompt"], response.json()["seconds"]) == (
            "a paper boat on a pond",
            "8",
        )
        assert client.delete(f"/v1/videos/{response.json()['id']}").is_success  # not wanted
        binary = client.post(
            "/v1/videos", files={"prompt": ("p.bin", b"\xff\xfe\x00\x81", "image/png")}
        )
    assert binary.status_code == 400
    assert binary.json()["error"]["param"] == "prompt"
