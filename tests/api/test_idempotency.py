"""`Idempotency-Key` over real HTTP: retries replay the first answer and start no second job."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess, wait_for_task
from troupe.api.idempotency import Fingerprint
from troupe.store import idempotency
from troupe.store.db import Database, upgrade_database


def fresh(prefix: str) -> str:
    """A name no other test uses, so counts in the shared server's database are this test's own."""
    return f"{prefix} {uuid.uuid4().hex[:10]}"


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def query(server: ServerProcess, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(server.data_dir / "troupe.db", timeout=30)) as db, db:
        return db.execute(sql, params).fetchall()


def tasks_named(server: ServerProcess, name: str) -> int:
    rows = query(
        server, "SELECT count(*) FROM tasks WHERE json_extract(request, '$.name') = ?", name
    )
    return int(rows[0][0])


def character_body(media: MediaServer, name: str, **extra: Any) -> dict[str, Any]:
    return {"url": media.url("small.mp4"), "name": name, "async": True, **extra}


def assert_replays(first: httpx.Response, retry: httpx.Response) -> None:
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.status_code == first.status_code
    assert retry.content == first.content
    for header in ("content-type", "openai-poll-after-ms"):
        assert retry.headers.get(header) == first.headers.get(header)


def assert_conflict(response: httpx.Response, words: str) -> None:
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "idempotency_conflict"
    assert error["type"] == "invalid_request_error"
    assert words in error["message"]


def test_a_retried_character_post_replays_the_first_task(
    server: ServerProcess, media: MediaServer
) -> None:
    name, key = fresh("Once"), fresh("key")
    with server.client() as client:
        first = client.post("/v1/characters", json=character_body(media, name), headers=keyed(key))
        retry = client.post("/v1/characters", json=character_body(media, name), headers=keyed(key))
        assert first.status_code == 202, first.text
        assert_replays(first, retry)
        assert wait_for_task(client, first.json()["id"])["status"] == "completed"
        listed = client.get("/v1/characters", params={"q": name, "limit": 100}).json()
    assert [row["display_name"] for row in listed["data"]] == [name]
    assert tasks_named(server, name) == 1
    jobs = query(
        server,
        "SELECT count(*) FROM jobs JOIN tasks ON tasks.id = jobs.task_id "
        "WHERE json_extract(tasks.request, '$.name') = ?",
        name,
    )
    assert jobs == [(1,)]


def test_a_retried_video_post_starts_one_video(server: ServerProcess) -> None:
    prompt, key = fresh("a beach"), fresh("key")
    with server.client() as client:
        first = client.post("/v1/videos", json={"prompt": prompt}, headers=keyed(key))
        retry = client.post("/v1/videos", json={"prompt": prompt}, headers=keyed(key))
        assert first.status_code == 200, first.text
        assert_replays(first, retry)
        listed = client.get("/v1/videos", params={"limit": 100}).json()["data"]
        assert client.delete(f"/v1/videos/{first.json()['id']}").is_success  # not wanted
    assert [video["id"] for video in listed if video["prompt"] == prompt] == [first.json()["id"]]


def test_a_retried_upload_replays_despite_a_new_boundary(
    server: ServerProcess, media: MediaServer
) -> None:
    name, key = fresh("Uploaded"), fresh("key")
    headers = {**keyed(key), "Prefer": "respond-async"}
    answers = []
    with server.client() as client:
        for _ in range(2):
            with (media.root / "small.mp4").open("rb") as video:
                answers.append(
                    client.post(
                        "/v1/videos/characters",
                        data={"name": name},
                        files={"video": ("small.mp4", video, "video/mp4")},
                        headers=headers,
                    )
                )
    first, retry = answers
    assert first.status_code == 202, first.text
    # httpx, like every client, frames each attempt with a fresh random boundary.
    assert first.request.headers["content-type"] != retry.request.headers["content-type"]
    assert_replays(first, retry)
    assert tasks_named(server, name) == 1


def test_the_same_key_with_another_body_is_a_conflict(
    server: ServerProcess, media: MediaServer
) -> None:
    name, key = fresh("Twice"), fresh("key")
    with server.client() as client:
        first = client.post("/v1/characters", json=character_body(media, name), headers=keyed(key))
        other = client.post(
            "/v1/characters", json=character_body(media, name + " B"), headers=keyed(key)
        )
        elsewhere = client.post("/v1/videos", json={"prompt": name}, headers=keyed(key))
    assert first.status_code == 202, first.text
    assert_conflict(other, "different request")
    assert_conflict(elsewhere, "different request")
    assert tasks_named(server, name) + tasks_named(server, name + " B") == 1


def test_a_retry_while_the_first_runs_is_a_conflict(
    server: ServerProcess, media: MediaServer
) -> None:
    name, key = fresh("Slowpoke"), fresh("key")
    body = {"url": f"{media.base_url}/slow/small.mp4", "name": name}
    answers: list[httpx.Response] = []

    def first_request() -> None:
        with server.client() as client:
            answers.append(client.post("/v1/characters", json=body, headers=keyed(key)))

    thread = threading.Thread(target=first_request)
    thread.start()
    wait_for_claim(server, key)
    with server.client() as client:
        early = client.post("/v1/characters", json=body, headers=keyed(key))
        thread.join()
        late = client.post("/v1/characters", json=body, headers=keyed(key))
    assert_conflict(early, "still running")
    [first] = answers
    assert first.status_code == 200, first.text
    assert_replays(first, late)
    assert tasks_named(server, name) == 1


def test_simultaneous_duplicates_start_one_task(server: ServerProcess, media: MediaServer) -> None:
    name, key = fresh("Crowd"), fresh("key")

    def post(_: int) -> httpx.Response:
        with server.client() as client:
            return client.post(
                "/v1/characters", json=character_body(media, name), headers=keyed(key)
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, range(6)))
    assert {answer.status_code for answer in answers} <= {202, 409}
    assert len({answer.json()["id"] for answer in answers if answer.status_code == 202}) == 1
    assert tasks_named(server, name) == 1


def wait_for_claim(server: ServerProcess, key: str) -> None:
    """Until the server holds `key` for a request that has not answered yet."""
    sql = "SELECT state FROM idempotency_records WHERE key = ?"
    deadline = time.monotonic() + 30
    while query(server, sql, key) != [("in_progress",)]:
        assert time.monotonic() < deadline, "the first request never claimed its key"
        time.sleep(0.05)


def test_a_client_error_is_replayed(server: ServerProcess, media: MediaServer) -> None:
    body, key = character_body(media, fresh("Backwards"), timestamps="2,1"), fresh("key")
    with server.client() as client:
        first = client.post("/v1/characters", json=body, headers=keyed(key))
        retry = client.post("/v1/characters", json=body, headers=keyed(key))
    assert first.status_code == 400, first.text
    assert first.json()["error"]["code"] == "invalid_timestamps"
    assert_replays(first, retry)


def test_a_server_error_is_not_replayed(server: ServerProcess, media: MediaServer) -> None:
    name, key = fresh("Missing"), fresh("key")
    body = {"url": media.url("missing.mp4"), "name": name, "timestamps": "0,1"}
    with server.client() as client:
        answers = [client.post("/v1/characters", json=body, headers=keyed(key)) for _ in range(2)]
    for answer in answers:
        assert answer.status_code == 502, answer.text
        assert "idempotent-replayed" not in answer.headers
    assert tasks_named(server, name) == 2
    assert query(server, "SELECT * FROM idempotency_records WHERE key = ?", key) == []


def test_keys_belong_to_their_owner(server: ServerProcess, media: MediaServer) -> None:
    name, key = fresh("Shared"), fresh("key")
    ids = set()
    for api_key in ("test-key-alpha", "test-key-beta"):
        with server.client(api_key) as client:
            answer = client.post(
                "/v1/characters", json=character_body(media, name), headers=keyed(key)
            )
        assert answer.status_code == 202, answer.text
        assert "idempotent-replayed" not in answer.headers
        ids.add(answer.json()["id"])
    assert len(ids) == 2


def test_without_a_key_every_post_runs(server: ServerProcess, media: MediaServer) -> None:
    name = fresh("Keyless")
    with server.client() as client:
        answers = [client.post("/v1/characters", json=character_body(media, name)) for _ in "ab"]
    assert len({answer.json()["id"] for answer in answers}) == 2
    assert not any("idempotent-replayed" in answer.headers for answer in answers)
    assert tasks_named(server, name) == 2


def test_a_key_is_at_most_255_characters(server: ServerProcess, media: MediaServer) -> None:
    name = fresh("Long key")
    with server.client() as client:
        too_long = client.post(
            "/v1/characters", json=character_body(media, name), headers=keyed("k" * 256)
        )
        longest = client.post(
            "/v1/characters", json=character_body(media, name), headers=keyed(fresh("k" * 244))
        )
    assert too_long.status_code == 400, too_long.text
    assert too_long.json()["error"]["code"] == "invalid_request"
    assert "255" in too_long.json()["error"]["message"]
    assert longest.status_code == 202, longest.text
    assert tasks_named(server, name) == 1


def test_a_keyed_body_without_a_length_is_held_to_the_limit(make_server: StartServer) -> None:
    tight = make_server({"TROUPE_MAX_UPLOAD_BYTES": "50000"})
    chunks = (b"x" * 10_000 for _ in range(20))  # a generator: httpx sends it chunked
    with tight.client() as client:
        answer = client.post("/v1/videos/characters", content=chunks, headers=keyed("big"))
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "file_too_large"


def test_a_keyed_request_without_an_api_key_is_a_401(
    server: ServerProcess, media: MediaServer
) -> None:
    key = fresh("key")
    with server.client("wrong-key") as client:
        answer = client.post(
            "/v1/characters", json=character_body(media, fresh("Nobody")), headers=keyed(key)
        )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"
    assert query(server, "SELECT * FROM idempotency_records WHERE key = ?", key) == []


def test_a_key_older_than_a_day_is_free_again(server: ServerProcess, media: MediaServer) -> None:
    name, key = fresh("Yesterday"), fresh("key")
    with server.client() as client:
        first = client.post("/v1/characters", json=character_body(media, name), headers=keyed(key))
        query(
            server,
            "UPDATE idempotency_records SET created_at = created_at - 25 * 3600 WHERE key = ?",
            key,
        )
        later = client.post(
            "/v1/characters", json=character_body(media, name + " again"), headers=keyed(key)
        )
    assert first.status_code == later.status_code == 202, later.text
    assert later.json()["id"] != first.json()["id"]
    assert "idempotent-replayed" not in later.headers


def test_the_sdk_sends_a_key_through_extra_headers(server: ServerProcess) -> None:
    sdk = openai.OpenAI(api_key="test-key-alpha", base_url=f"{server.base_url}/v1", max_retries=0)
    prompt, key = fresh("an SDK beach"), fresh("key")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK marks Sora as shut down
        videos = [
            sdk.videos.create(prompt=prompt, extra_headers={"Idempotency-Key": key})
            for _ in range(2)
        ]
        deleted = sdk.videos.delete(videos[0].id)  # not wanted
    assert videos[0].id == videos[1].id
    assert query(server, "SELECT count(*) FROM videos WHERE prompt = ?", prompt) == [(1,)]
    assert deleted.deleted


def test_racing_claims_on_postgresql_leave_one_winner(postgres_url: str) -> None:
    # PostgreSQL lets racing inserts collide on the primary key (SQLite queues them instead):
    # the losers must find the winner's row, not fail.
    upgrade_database(postgres_url)
    db = Database(postgres_url)
    barrier = threading.Barrier(8)

    def claim(_: int) -> bool:
        barrier.wait()
        return idempotency.claim(db, "owner", "key", "hash") is None

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            won = list(pool.map(claim, range(8)))
    finally:
        db.dispose()
    assert won.count(True) == 1


@pytest.mark.parametrize("size", [1, 3, 7, 64])
def test_the_fingerprint_ignores_the_multipart_boundary(size: int) -> None:
    def digest(boundary: bytes, body: bytes) -> str:
        fingerprint = Fingerprint(b"POST\n/v1/videos/characters\n\n", boundary)
        for start in range(0, len(body), size):
            fingerprint.update(body[start : start + size])
        return fingerprint.hexdigest()

    def form(boundary: bytes, value: bytes) -> bytes:
        return b"--%s\r\nname\r\n\r\n%s\r\n--%s--\r\n" % (boundary, value, boundary)

    first = digest(b"aaaaaaaa", form(b"aaaaaaaa", b"Mascot"))
    assert digest(b"bbbbbbbb", form(b"bbbbbbbb", b"Mascot")) == first
    assert digest(b"bbbbbbbb", form(b"bbbbbbbb", b"Mascot!")) != first
