"""`POST /v1/characters/windows`: ranked windows for a URL, an upload, or a task."""

from __future__ import annotations

from tests.api.test_errors import assert_error
from tests.support import MediaServer, ServerProcess


def test_windows_for_a_url_find_where_the_mascot_is(
    server: ServerProcess, media: MediaServer
) -> None:
    with server.client() as client:
        response = client.post(
            "/v1/characters/windows", json={"url": media.url("late.mp4"), "count": 5}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list" and abs(body["duration"] - 8.0) < 0.1
    windows = body["data"]
    assert 1 <= len(windows) <= 5
    best = windows[0]
    assert best["start"] >= 4.0 and best["end"] <= 8.0 and 1.0 <= best["end"] - best["start"] <= 3
    assert best["timestamps"] == f"{best['start']:g},{best['end']:g}"
    assert [w["score"] for w in windows] == sorted((w["score"] for w in windows), reverse=True)
    # Only windows that creation accepts are suggested: none of the empty first four seconds.
    assert all(w["start"] >= 4.0 for w in windows), windows
    with server.client() as client:
        for window in windows:
            created = client.post(
                "/v1/characters",
                json={"url": media.url("late.mp4"), "timestamps": window["timestamps"]},
            )
            assert created.status_code == 200, (window, created.text)


def test_windows_for_an_upload_then_create_with_them(
    server: ServerProcess, media: MediaServer
) -> None:
    with server.client() as client:
        with (media.root / "late.mp4").open("rb") as video:
            found = client.post(
                "/v1/characters/windows", files={"video": ("late.mp4", video)}, data={"count": "1"}
            )
        assert found.status_code == 200, found.text
        [best] = found.json()["data"]
        created = client.post(
            "/v1/characters", json={"url": media.url("late.mp4"), "timestamps": best["timestamps"]}
        )
    assert created.status_code == 200, created.text


def test_windows_errors(server: ServerProcess, media: MediaServer) -> None:
    with server.client() as client:
        assert_error(client.post("/v1/characters/windows", json={}), 400, "invalid_request")
        too_many = client.post(
            "/v1/characters/windows", json={"url": media.url("late.mp4"), "count": 50}
        )
        assert_error(too_many, 400, "invalid_request", "count")
        long = client.post("/v1/characters/windows", json={"url": media.url("long.mp4")})
        assert_error(long, 400, "video_too_long")
        junk = client.post("/v1/characters/windows", json={"url": media.url("random.mp4")})
        assert_error(junk, 400, "unsupported_media")
        private = client.post("/v1/characters/windows", json={"url": "http://10.0.0.1/a.mp4"})
        assert_error(private, 400, "url_not_allowed", "url")
        task = client.post("/v1/characters/windows", json={"from_task": "video_x"})
        assert_error(task, 404, "task_not_found", "from_task")
    with server.client(api_key="wrong") as stranger:
        denied = stranger.post("/v1/characters/windows", json={"url": media.url("late.mp4")})
        assert_error(denied, 401, "invalid_api_key")
