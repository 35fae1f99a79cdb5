"""A source URL that no fetch would take is refused when the request is made, not by the job
later: its scheme, credentials, or a non-public address written out. Host names are resolved
by the job alone (once, with the connection pinned), never at submission."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_errors import assert_error
from tests.support import MediaServer, ServerProcess


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "/v1/videos",
            {"prompt": "a kite", "input_reference": {"image_url": "http://10.0.0.1/bg.png"}},
            "input_reference.image_url",
        ),
        (
            "/v1/videos",
            {"prompt": "a kite", "input_reference": {"image_url": "ftp://a.example/bg.png"}},
            "input_reference.image_url",
        ),
        (
            "/v1/videos",
            {"prompt": "a kite", "character_url": "http://169.254.169.254/latest/meta-data"},
            "character_url",
        ),
        (
            "/v1/videos",
            {"prompt": "a kite", "character_url": "http://[::1]:9/a.mp4"},
            "character_url",
        ),
        (
            "/v1/videos",
            {"prompt": "a kite", "character_url": "https://me:secret@a.example/a.mp4"},
            "character_url",
        ),
        ("/v1/characters", {"url": "http://127.1:9/a.mp4", "async": True}, "url"),
        ("/v1/characters", {"url": "http://0x7f000001:9/a.mp4", "async": True}, "url"),
        ("/v1/videos/generations", {"url": "http://[::ffff:10.0.0.1]/a.mp4"}, "url"),
    ],
)
def test_a_url_no_fetch_would_take_is_refused_at_once(
    server: ServerProcess, path: str, body: dict[str, Any], param: str
) -> None:
    with server.client() as client:
        response = client.post(path, json=body)
    assert_error(response, 400, "url_not_allowed", param)


def test_allowed_hosts_and_host_names_are_accepted(
    server: ServerProcess, media: MediaServer
) -> None:
    """The tests' servers allow `127.0.0.1`; `localhost` is a name, checked by the job."""
    with server.client() as client:
        allowed = client.post(
            "/v1/videos",
            json={"prompt": "a kite", "input_reference": {"image_url": media.url("picture.png")}},
        )
        assert allowed.status_code == 200, allowed.text
        named = client.post(
            "/v1/characters", json={"url": "http://localhost:9/a.mp4", "async": True}
        )
        assert named.status_code == 202, named.text
