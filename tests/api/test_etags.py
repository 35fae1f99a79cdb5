"""Polls of finished objects over real HTTP: a completed video or task, a character and the
lists of them answer with an `ETag`, and `304 Not Modified` (no body, the same headers) to
`If-None-Match`; stored API keys keep working, and stop working once revoked."""

from __future__ import annotations

import time

import httpx

from tests.conftest import StartServer
from tests.support import MediaServer, wait_for_task
from troupe.store import repo
from troupe.store.db import Database


def assert_not_modified(client: httpx.Client, path: str) -> str:
    """GET twice, the second time with the first answer's ETag: a 304 without a body."""
    first = client.get(path)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert (
        again.headers["x-ratelimit-limit-requests"] == first.headers["x-ratelimit-limit-requests"]
    )
    weak_in_a_list = client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak_in_a_list.status_code == 304
    stale = client.get(path, headers={"If-None-Match": '"not-it"'})
    assert stale.status_code == 200 and stale.json() == first.json()
    return etag


def test_finished_objects_answer_304_to_their_etag(
    make_server: StartServer, media: MediaServer
) -> None:
    server = make_server({"TROUPE_POLL_AFTER_MS": "50"})
    with server.client() as client:
        made = client.post("/v1/characters", json={"url": media.url("small.mp4")})
        assert made.status_code == 200, made.text
        character = made.json()
        etag = assert_not_modified(client, f"/v1/characters/{character['id']}")
        listed_etag = assert_not_modified(client, "/v1/characters")
        assert_not_modified(client, f"/v1/videos/characters/{character['id']}")
        task_etag = assert_not_modified(client, f"/v1/tasks/{character['task_id']}")
        polled = client.get(
            f"/v1/tasks/{character['task_id']}", headers={"If-None-Match": task_etag}
        )
        assert polled.headers["openai-poll-after-ms"] == "50"

        # A character made public reads differently, so its old tag no longer matches.
        client.patch(f"/v1/characters/{character['id']}", json={"visibility": "public"})
        shared = client.get(f"/v1/characters/{character['id']}", headers={"If-None-Match": etag})
        assert shared.status_code == 200 and shared.headers["etag"] != etag
        assert_not_modified(client, f"/v1/public/characters/{character['id']}")
        # Lists are tagged by their bytes too: a change in any row shows.
        relisted = client.get("/v1/characters", headers={"If-None-Match": listed_etag})
        assert relisted.status_code == 200 and relisted.headers["etag"] != listed_etag

        queued = client.post("/v1/videos", json={"prompt": "a beach at noon", "seconds": "4"})
        assert queued.status_code == 200 and "etag" not in queued.headers
        video_id = queued.json()["id"]
        assert wait_for_task(client, video_id)["status"] == "completed"
        video_etag = assert_not_modified(client, f"/v1/videos/{video_id}")
        not_modified = client.get(f"/v1/videos/{video_id}", headers={"If-None-Match": video_etag})
        assert not_modified.headers["openai-poll-after-ms"] == "50"
        videos_etag = assert_not_modified(client, "/v1/videos")
        assert_not_modified(client, "/v1/tasks?kind=video")
        assert_not_modified(client, "/v1/tasks?limit=1")

        # A deleted video is gone, whatever tag the client holds.
        assert client.delete(f"/v1/videos/{video_id}").status_code == 200
        gone = client.get(f"/v1/videos/{video_id}", headers={"If-None-Match": video_etag})
        assert gone.status_code == 404
        emptied = client.get("/v1/videos", headers={"If-None-Match": videos_etag})
        assert emptied.status_code == 200 and emptied.json()["data"] == []


def test_stored_keys_are_honoured_and_revocation_takes_effect(make_server: StartServer) -> None:
    server = make_server({"TROUPE_API_KEYS": ""})
    db = Database(f"sqlite:///{server.data_dir / 'troupe.db'}")
    try:
        with db.transaction() as session:
            row, key = repo.create_api_key(session, "owner-cached")
        with server.client(key) as client, server.client("wrong-key") as stranger:
            for _ in range(3):  # the second and third are answered from the key cache
                assert client.get("/v1/characters").status_code == 200
                assert stranger.get("/v1/characters").status_code == 401
            with db.transaction() as session:
                assert repo.revoke_api_key(session, row.id)
            deadline = time.monotonic() + 30
            while client.get("/v1/characters").status_code != 401:
                assert time.monotonic() < deadline, "a revoked key kept working"
                time.sleep(0.2)
    finally:
        db.dispose()
