"""A web page of another site cannot make a server act: a body is read as JSON only when it
says it is JSON, and a browser's write from a foreign `Origin` is refused unless listed."""

from __future__ import annotations

import pytest

from tests.api.test_errors import assert_error
from tests.conftest import StartServer
from tests.support import ServerProcess

JSON_BODY = b'{"prompt": "a kite over the sea"}'


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/xml"])
@pytest.mark.parametrize("path", ["/v1/videos", "/v1/characters", "/v1/videos/generations"])
def test_a_json_body_sent_as_another_type_is_refused(
    server: ServerProcess, path: str, content_type: str | None
) -> None:
    """text/plain is what a cross-site `fetch` or form sends without a CORS preflight."""
    headers = {"Content-Type": content_type} if content_type else {}
    with server.client() as client:
        # httpx would add its own Content-Type to `json=`; raw bytes go as they are.
        response = client.post(path, content=JSON_BODY, headers=headers)
    assert_error(response, 415, "unsupported_media_type")
    assert "Content-Type" in response.json()["error"]["message"]


def test_a_form_sent_to_a_json_route_is_refused(server: ServerProcess) -> None:
    with server.client() as client:
        response = client.post("/v1/characters", files={"url": (None, "http://a.example/v.mp4")})
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/vnd.troupe+json", "APPLICATION/JSON"],
)
def test_json_types_with_parameters_and_suffixes_are_read(
    server: ServerProcess, content_type: str
) -> None:
    """The body is read: its empty prompt is what is refused."""
    with server.client() as client:
        response = client.post(
            "/v1/videos", content=b'{"prompt": ""}', headers={"Content-Type": content_type}
        )
    assert_error(response, 400, "invalid_request", "prompt")


def test_a_foreign_origin_may_not_write(server: ServerProcess) -> None:
    with server.client() as client:
        for origin in ("http://evil.example", "null", f"https://127.0.0.1:{server.port}"):
            refused = client.post(
                "/v1/videos", json={"prompt": "a kite"}, headers={"Origin": origin}
            )
            message = assert_error(refused, 403, "origin_not_allowed")
            assert "TROUPE_CORS_ORIGINS" in message
        deleted = client.delete("/v1/videos/video_x", headers={"Origin": "http://evil.example"})
        assert_error(deleted, 403, "origin_not_allowed")
        # Reads pass: without CORS headers the page cannot see the answer anyway.
        listed = client.get("/v1/videos", headers={"Origin": "http://evil.example"})
        assert listed.status_code == 200
        assert "access-control-allow-origin" not in listed.headers


def test_a_page_elsewhere_queues_nothing_on_a_keyless_server(make_server: StartServer) -> None:
    """The issue's case: with no key to send, a cross-site form or preflight-free `fetch` is a
    write anyone's browser would make. It is refused, and no job or video is made."""
    server = make_server({"TROUPE_API_KEYS": "", "TROUPE_WORKERS": "0"})
    with server.client("") as browser:
        as_text = browser.post(
            "/v1/videos",
            content=JSON_BODY,
            headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
        )
        assert as_text.status_code in (403, 415), as_text.text
        as_json = browser.post(
            "/v1/videos", json={"prompt": "a kite"}, headers={"Origin": "http://evil.example"}
        )
        assert_error(as_json, 403, "origin_not_allowed")
        assert browser.get("/v1/videos").json()["data"] == []
        assert browser.get("/v1/tasks").json()["data"] == []
        # The same body from the server's own page, or from a client that sends no origin, works.
        own = browser.post(
            "/v1/videos", json={"prompt": "a kite"}, headers={"Origin": server.base_url}
        )
        assert own.status_code == 200, own.text


def test_the_servers_own_pages_and_origin_less_clients_may_write(server: ServerProcess) -> None:
    """The page the server serves sends its own origin; SDKs and curl send none."""
    for headers in ({"Origin": server.base_url}, {}):
        with server.client() as client:
            response = client.post("/v1/videos", json={"prompt": ""}, headers=headers)
        assert_error(response, 400, "invalid_request", "prompt")


def test_listed_origins_may_call_with_cors(make_server: StartServer) -> None:
    server = make_server({"TROUPE_CORS_ORIGINS": "https://Studio.example/, http://localhost:3000"})
    with server.client() as client:
        preflight = client.options(
            "/v1/videos",
            headers={
                "Origin": "https://studio.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == "https://studio.example"
        written = client.post(
            "/v1/videos", json={"prompt": ""}, headers={"Origin": "http://localhost:3000"}
        )
        assert_error(written, 400, "invalid_request", "prompt")
        assert written.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "openai-poll-after-ms" in written.headers["access-control-expose-headers"]
        other = client.post(
            "/v1/videos", json={"prompt": ""}, headers={"Origin": "https://x.example"}
        )
        assert_error(other, 403, "origin_not_allowed")
