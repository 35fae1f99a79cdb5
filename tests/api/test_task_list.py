"""`GET /v1/tasks`: the caller's jobs of both kinds, newest first, with results and errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import MediaServer, ServerProcess, wait_for_task


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory, media: MediaServer) -> Any:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("task-list") / "data").start()
    with server.client() as client:
        made = client.post("/v1/characters", json={"url": media.url("small.mp4")}).json()
        failed = client.post("/v1/characters", json={"url": media.url("silent.mp4"), "async": True})
        video = client.post("/v1/videos", json={"prompt": f"@{made['username']} waves"}).json()
        yield server, made, failed.json(), video
    server.stop()


def listed(server: ServerProcess, **params: Any) -> dict[str, Any]:
    with server.client() as client:
        response = client.get("/v1/tasks", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_tasks_of_both_kinds_newest_first(jobs: Any) -> None:
    server, made, failed, video = jobs
    page = listed(server)
    assert page["object"] == "list" and page["has_more"] is False
    newest, second, oldest = page["data"]
    assert (newest["id"], newest["kind"]) == (video["id"], "video")
    assert newest["status"] in ("queued", "in_progress", "completed")
    assert (second["id"], second["kind"]) == (failed["id"], "character")
    assert (oldest["kind"], oldest["status"]) == ("character", "completed")
    assert oldest["result"]["id"] == made["id"] and oldest["result"]["object"] == "character"
    ascending = listed(server, order="asc")["data"]
    assert [task["id"] for task in ascending] == [oldest["id"], second["id"], newest["id"]]


def test_filters_and_pages(jobs: Any) -> None:
    server, _, failed, video = jobs
    [only_video] = listed(server, kind="video")["data"]
    assert only_video["id"] == video["id"]
    first = listed(server, limit=1)
    assert first["has_more"] is True and first["first_id"] == first["last_id"] == video["id"]
    second = listed(server, limit=1, after=first["last_id"])
    assert second["data"][0]["id"] == failed["id"]
    with server.client() as client:
        assert wait_for_task(client, failed["id"])["status"] == "failed"
    [failure] = listed(server, status="failed")["data"]
    assert failure["error"]["code"] == "no_audio_track"
    assert failure["result"] is None


def test_a_deleted_videos_task_leaves_the_list(jobs: Any) -> None:
    """As GET /v1/tasks/{id} no longer finds it: the task is gone with its video."""
    server = jobs[0]
    with server.client() as client:
        video = client.post("/v1/videos", json={"prompt": "a kite over the dunes"}).json()
        assert video["id"] in [task["id"] for task in listed(server)["data"]]
        assert client.delete(f"/v1/videos/{video['id']}").json()["deleted"] is True
        assert client.get(f"/v1/tasks/{video['id']}").status_code == 404
    for params in ({}, {"kind": "video"}, {"order": "asc", "limit": 100}):
        assert video["id"] not in [task["id"] for task in listed(server, **params)["data"]]


def test_other_owners_see_none_and_bad_filters_are_refused(jobs: Any) -> None:
    server = jobs[0]
    with server.client("test-key-beta") as client:
        assert client.get("/v1/tasks").json()["data"] == []
        refused = client.get("/v1/tasks", params={"kind": "song"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_request"
