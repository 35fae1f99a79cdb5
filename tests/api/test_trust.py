"""Trust over real HTTP: funded keys pay once and get refunds, limits answer 429, characters
are private unless shared, and a stopped or killed server leaves no job or money stuck."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess, start_slow_task, wait_for_task
from troupe.api.auth import env_key_owner

ALPHA = env_key_owner("test-key-alpha")


def fund(server: ServerProcess, owner: str, dollars: float) -> None:
    command = [sys.executable, "-m", "troupe", "keys", "credit", owner, str(dollars)]
    subprocess.run([*command, "--data-dir", str(server.data_dir)], check=True, capture_output=True)


def usage(client: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/v1/usage", params={"limit": 100}).json()
    return body


def ledger(body: dict[str, Any], task_id: str) -> list[str]:
    return sorted(entry["kind"] for entry in body["data"] if entry["task_id"] == task_id)


def test_a_funded_key_is_charged_for_success_and_refunded_for_failure(
    make_server: StartServer, media: MediaServer
) -> None:
    server = make_server()
    fund(server, ALPHA, 0.015)
    with server.client() as client:
        failed = client.post("/v1/characters", json={"url": media.url("empty.mp4")})
        assert failed.json()["error"]["code"] == "no_subject_found"
        made = client.post("/v1/characters", json={"url": media.url("small.mp4")})
        assert made.status_code == 200, made.text
        broke = client.post("/v1/characters", json={"url": media.url("small.mp4")})
        assert (broke.status_code, broke.json()["error"]["code"]) == (402, "quota_exceeded")
        body = usage(client)
    assert body["balance"] == 0.005 and body["held"] == 0
    assert body["charged"] == 0.01 and body["refunded"] == 0.01 and body["credited"] == 0.015
    tasks = {entry["task_id"] for entry in body["data"] if entry["task_id"]}
    assert len(tasks) == 2, "the refused request reserved nothing"
    assert sorted(ledger(body, task) for task in tasks) == [
        ["charge", "reserve"],
        ["refund", "reserve"],
    ]


def test_sigkill_mid_job_settles_the_reservation_once(
    make_server: StartServer, media: MediaServer
) -> None:
    first = make_server()
    fund(first, ALPHA, 1.0)
    with first.client() as client:
        task_id = start_slow_task(client, media)
        assert ledger(usage(client), task_id) == ["reserve"]
    first.kill()
    second = make_server()
    with second.client() as client:
        assert wait_for_task(client, task_id)["status"] == "completed"
        body = usage(client)
    assert ledger(body, task_id) == ["charge", "reserve"]
    assert body["balance"] == 0.99 and body["held"] == 0


def test_sigterm_hands_running_jobs_back(make_server: StartServer, media: MediaServer) -> None:
    first = make_server({"TROUPE_JOB_SHUTDOWN_GRACE_SECONDS": "0"})
    with first.client() as client:
        task_id = start_slow_task(client, media)
    first.stop()  # SIGTERM; the slow download is still running
    engine = create_engine(f"sqlite:///{first.data_dir / 'troupe.db'}")
    with engine.connect() as connection:
        job = connection.execute(
            text("SELECT state, attempts, worker_id FROM jobs WHERE task_id = :t"), {"t": task_id}
        ).one()
        status = connection.execute(
            text("SELECT status FROM tasks WHERE id = :t"), {"t": task_id}
        ).scalar_one()
    engine.dispose()
    assert tuple(job) == ("queued", 0, None) and status == "queued"
    second = make_server()
    with second.client() as client:
        assert wait_for_task(client, task_id)["status"] == "completed"


def test_request_rate_limit(make_server: StartServer) -> None:
    server = make_server({"TROUPE_RATE_LIMIT_PER_MINUTE": "3"})
    with server.client() as alpha, server.client("test-key-beta") as beta:
        answers = [alpha.get("/v1/characters") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["x-ratelimit-limit-requests"] == "3"
        assert answers[0].headers["x-ratelimit-remaining-requests"] == "2"
        refused = answers[3]
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert beta.get("/v1/characters").status_code == 200, "each key has its own bucket"
        assert alpha.get("/healthz").status_code == 200, "operations are not limited"


def test_concurrent_job_limit(make_server: StartServer, media: MediaServer) -> None:
    server = make_server({"TROUPE_MAX_CONCURRENT_JOBS": "1"})
    with server.client() as client:
        running = start_slow_task(client, media)
        second = client.post("/v1/videos", json={"prompt": "a beach"})
        assert (second.status_code, second.json()["error"]["code"]) == (429, "rate_limit_exceeded")
        assert int(second.headers["retry-after"]) >= 1
        assert wait_for_task(client, running)["status"] == "completed"
        admitted = client.post("/v1/videos", json={"prompt": "a beach"})
        assert admitted.status_code == 200
        assert client.delete(f"/v1/videos/{admitted.json()['id']}").is_success  # not wanted


def test_characters_are_private_until_shared(server: ServerProcess, media: MediaServer) -> None:
    with server.client() as alpha, server.client("test-key-beta") as beta:
        star = alpha.post(
            "/v1/characters", json={"url": media.url("small.mp4"), "username": "lent"}
        )
        star_id = star.json()["id"]
        assert star.json()["visibility"] == "private"
        assert beta.get(f"/v1/characters/{star_id}").status_code == 404
        hidden = beta.post("/v1/videos", json={"prompt": "@lent waves"})
        assert hidden.json()["error"]["code"] == "unknown_character"

        shared = alpha.patch(f"/v1/characters/{star_id}", json={"visibility": "public"})
        assert shared.json()["visibility"] == "public"
        assert beta.get("/v1/characters/@lent").json()["id"] == star_id
        video = beta.post("/v1/videos", json={"prompt": "@lent waves"})
        assert video.status_code == 200 and video.json()["characters"][0]["id"] == star_id
        assert beta.delete(f"/v1/videos/{video.json()['id']}").is_success  # not wanted
        # Shared is not owned: the other owner can neither change, delete nor list it.
        assert (
            beta.patch(f"/v1/characters/{star_id}", json={"visibility": "private"}).status_code
            == 404
        )
        assert beta.delete(f"/v1/characters/{star_id}").status_code == 404
        assert star_id not in [c["id"] for c in beta.get("/v1/characters").json()["data"]]
        assert alpha.patch(f"/v1/characters/{star_id}", json={"visibility": "x"}).status_code == 400


def test_a_killed_server_leaves_no_idempotency_claim_behind(
    make_server: StartServer, media: MediaServer
) -> None:
    first = make_server()
    body = {"url": f"{media.base_url}/slow/small.mp4", "timestamps": "0,2"}
    headers = {"Idempotency-Key": "killed-mid-request"}
    with first.client() as client, ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(client.post, "/v1/characters", json=body, headers=headers)
        wait_for_claim(first, "killed-mid-request")
        held = client.post("/v1/characters", json=body, headers=headers)
        assert held.json()["error"]["code"] == "idempotency_conflict"
        first.kill()
        with contextlib.suppress(httpx.TransportError):
            pending.result()
    second = make_server()
    with second.client() as client:
        retried = client.post("/v1/characters", json=body, headers=headers)
    assert retried.status_code == 200, retried.text


def wait_for_claim(server: ServerProcess, key: str) -> None:
    engine = create_engine(f"sqlite:///{server.data_dir / 'troupe.db'}")
    query = text("SELECT count(*) FROM idempotency_records WHERE key = :k")
    deadline = time.monotonic() + 30
    try:
        while True:
            with engine.connect() as connection:
                if connection.execute(query, {"k": key}).scalar_one():
                    return
            assert time.monotonic() < deadline, "the first request never claimed its key"
            time.sleep(0.05)
    finally:
        engine.dispose()
