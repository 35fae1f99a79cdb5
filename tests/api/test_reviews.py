"""Characters the human screening is uncertain about, on live servers over real HTTP: the default
refusal, an operator's review (API and CLI, webhooks, refunds, expiry, restarts), the operator
API hidden from everyone else, and attestation by keys that have the right.

The uncertain source is `tests.likeness_clips.write_uncertain_clip`: a clip whose window "0,2"
lands in the uncertain band under the real models at default settings.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import StartServer
from tests.footage import build_footage
from tests.jobs.test_webhooks import SECRET, Receiver, verified
from tests.likeness_clips import write_uncertain_clip
from tests.support import MediaServer, ServerProcess, wait_for_task
from troupe.client import Client

OPERATOR = "review"
WAITING = "review by an operator"
ATTEST = "attest_original_character"
REVIEW_ENV = {"TROUPE_LIKENESS_REVIEW": "operator"}


# --- helpers ----------------------------------------------------------------------------------


def troupe_cli(
    server: ServerProcess, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`troupe ARGS --data-dir DIR`, as an operator runs it on the server's machine."""
    command = [sys.executable, "-m", "troupe", *args, "--data-dir", str(server.data_dir)]
    env = {**os.environ, **server.env}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert done.returncode == 0, done.stderr + done.stdout
    return done


def stored_key(server: ServerProcess, owner: str, *rights: str, credit: float | None = None) -> str:
    """A key made with `troupe keys create`, with the rights named (`--operator`, ...)."""
    extra = ["--credit", str(credit)] if credit is not None else []
    made = troupe_cli(server, "keys", "create", "--owner", owner, *rights, *extra, "--json")
    shown = json.loads(made.stdout)
    assert shown["rights"] == [right.removeprefix("--") for right in rights]
    return str(shown["key"])


def wait_until_waiting(client: httpx.Client, task_id: str, timeout: float = 180) -> dict[str, Any]:
    """The task once it waits for an operator; fails if it settles instead."""
    deadline = time.monotonic() + timeout
    while True:
        task: dict[str, Any] = client.get(f"/v1/tasks/{task_id}").json()
        if task.get("waiting_for") == WAITING:
            return task
        assert task["status"] not in ("completed", "failed"), task
        assert time.monotonic() < deadline, f"task {task_id} never waited for a review: {task}"
        time.sleep(0.2)


def start_uncertain_task(client: httpx.Client, url: str, **fields: Any) -> str:
    response = client.post(
        "/v1/videos/generations", json={"url": url, "timestamps": "0,2", **fields}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def ledger_kinds(client: httpx.Client, task_id: str) -> list[str]:
    usage = client.get("/v1/usage", params={"limit": 100}).json()
    return sorted(entry["kind"] for entry in usage["data"] if entry["task_id"] == task_id)


def event_types(receiver: Receiver, count: int, task_id: str) -> list[str]:
    return [verified(delivery)["type"] for delivery in receiver.wait_for(count, about=task_id)]


def assert_error(response: httpx.Response, status: int, code: str, param: Any = ...) -> str:
    assert response.status_code == status, response.text[:2000]
    error = response.json()["error"]
    assert error["code"] == code, error
    if param is not ...:
        assert error["param"] == param, error
    return str(error["message"])


@pytest.fixture(scope="module")
def uncertain_url(media: MediaServer) -> str:
    """The URL of a clip whose window 0-2 s the screening is uncertain about."""
    path = media.root / "uncertain.mp4"
    if not path.exists():
        write_uncertain_clip(path)
    return media.url("uncertain.mp4")


@pytest.fixture(scope="module")
def person_url(media: MediaServer) -> str:
    """A photographed person walking over a brick wall (silent): the real-person band."""
    [clip] = build_footage(media.root / "footage", ["astronaut_brick_walk"])
    return media.url(f"footage/{clip.path.name}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver([])
    yield started
    started.server.shutdown()


def webhooks(receiver: Receiver) -> dict[str, str]:
    return {"TROUPE_WEBHOOK_URL": receiver.url, "TROUPE_WEBHOOK_SECRET": SECRET}


# --- without an uncertain source --------------------------------------------------------------


def test_the_operator_api_answers_everyone_else_as_a_missing_route(
    make_server: StartServer,
) -> None:
    server = make_server(REVIEW_ENV)
    operator_key = stored_key(server, "ops", "--operator")
    with server.client() as owner, server.client(operator_key) as operator:
        missing_route = owner.get("/v1/no-such-route")
        for method, path in [
            ("GET", "/v1/reviews"),
            ("GET", "/v1/reviews/task_x"),
            ("GET", "/v1/reviews/task_x/evidence/0.jpg"),
            ("POST", "/v1/reviews/task_x/approve"),
            ("POST", "/v1/reviews/task_x/reject"),
        ]:
            hidden = owner.request(method, path)
            assert (hidden.status_code, hidden.json()) == (404, missing_route.json()), path
        assert (
            owner.get("/v1/reviews", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
        listed = operator.get("/v1/reviews")
        assert listed.status_code == 200, listed.text
        assert listed.json() == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }
        assert_error(operator.get("/v1/reviews/task_x"), 404, "task_not_found")
        assert_error(operator.post("/v1/reviews/task_x/approve", json={}), 404, "task_not_found")
        refused = operator.post("/v1/reviews/task_x/reject", json={"why": "x", "extra": 1})
        assert_error(refused, 400, "invalid_request")
    assert "/v1/reviews" in httpx.get(f"{server.base_url}/openapi.json").json()["paths"]


def test_on_a_keyless_server_the_local_user_is_the_operator(make_server: StartServer) -> None:
    server = make_server({**REVIEW_ENV, "TROUPE_API_KEYS": ""})
    with server.client("") as local:
        assert local.get("/v1/reviews").status_code == 200
        assert local.get("/v1/reviews", params={"status": "all"}).json()["data"] == []


def test_keys_list_shows_their_rights(make_server: StartServer) -> None:
    server = make_server()
    stored_key(server, "ops", "--operator")
    stored_key(server, "studio", "--may-attest")
    stored_key(server, "plain")
    listed = json.loads(troupe_cli(server, "keys", "list", "--json").stdout)["data"]
    assert {key["owner"]: key["rights"] for key in listed} == {
        "ops": ["operator"],
        "studio": ["may-attest"],
        "plain": [],
    }
    assert "operator" in troupe_cli(server, "keys", "list").stdout


def test_only_keys_with_the_right_may_attest(
    make_server: StartServer, media: MediaServer, media_dir: Path
) -> None:
    server = make_server()
    studio = stored_key(server, "studio", "--may-attest")
    source = {"url": media.url("small.mp4"), "timestamps": "0,2"}
    with server.client() as plain, server.client(studio) as attester:
        for path in ("/v1/characters", "/sora/v1/characters", "/v1/sora/characters"):
            refused = plain.post(path, json={**source, ATTEST: True})
            assert "--may-attest" in assert_error(refused, 400, "invalid_request", ATTEST), path
        refused = plain.post("/v1/videos/generations", json={**source, ATTEST: True})
        assert_error(refused, 400, "invalid_request", ATTEST)
        with (media_dir / "small.mp4").open("rb") as video:
            refused = plain.post(
                "/v1/videos/characters",
                data={"name": "x", ATTEST: "true"},
                files={"video": ("s.mp4", video)},
            )
        assert_error(refused, 400, "invalid_request", ATTEST)
        inline = {"prompt": "a walk", "character_url": source["url"], ATTEST: True}
        assert_error(plain.post("/v1/videos", json=inline), 400, "invalid_request", ATTEST)
        alone = {"prompt": "a walk", ATTEST: True}
        assert_error(attester.post("/v1/videos", json=alone), 400, "invalid_request", ATTEST)
        odd = attester.post("/v1/characters", json={**source, ATTEST: "perhaps"})
        assert_error(odd, 400, "invalid_request", ATTEST)
        # Saying false is saying nothing, whoever says it.
        assert plain.post("/v1/characters", json={**source, ATTEST: False}).status_code == 200
        # An attestation a sure screening did not need leaves no mark on the character.
        made = attester.post("/v1/characters", json={**source, ATTEST: True})
        assert made.status_code == 200, made.text
        assert made.json()["likeness"] is None
        assert plain.get("/v1/tasks", params={"status": "failed"}).json()["data"] == []


def test_attestation_never_lets_a_real_person_through(
    make_server: StartServer, person_url: str
) -> None:
    server = make_server({"TROUPE_REQUIRE_AUDIO": "false", **REVIEW_ENV})
    studio = stored_key(server, "studio", "--may-attest")
    with server.client(studio) as attester:
        refused = attester.post(
            "/v1/characters", json={"url": person_url, "timestamps": "0,2", ATTEST: True}
        )
        message = assert_error(refused, 422, "human_likeness_detected", "timestamps")
        assert "real human" in message
    operator = stored_key(server, "ops", "--operator")
    with server.client(operator) as desk:
        assert desk.get("/v1/reviews", params={"status": "all"}).json()["data"] == []


# --- an uncertain source ----------------------------------------------------------------------


def test_by_default_an_uncertain_subject_is_refused_naming_the_setting(
    make_server: StartServer, uncertain_url: str
) -> None:
    server = make_server()
    with server.client() as client:
        refused = client.post("/v1/characters", json={"url": uncertain_url, "timestamps": "0,2"})
    message = assert_error(refused, 422, "human_likeness_detected", "timestamps")
    assert "uncertain" in message and "TROUPE_LIKENESS_REVIEW=operator" in message
    characters = server.data_dir / "blobs" / "characters"
    assert not characters.exists() or not any(characters.iterdir()), "its files were removed"


def test_an_operator_approves_through_the_api(
    make_server: StartServer, receiver: Receiver, uncertain_url: str
) -> None:
    server = make_server({**REVIEW_ENV, **webhooks(receiver)})
    operator_key = stored_key(server, "ops", "--operator")
    body = {"url": uncertain_url, "timestamps": "0,2", "name": "Doubtful", "username": "doubtful"}
    with (
        server.client() as owner,
        server.client("test-key-beta") as stranger,
        server.client(operator_key) as operator,
    ):
        # A synchronous creation answers as soon as the task parks: a review may take days.
        first = owner.post("/v1/characters", json=body, headers={"Idempotency-Key": "doubt-1"})
        assert first.status_code == 202, first.text
        task = first.json()
        assert (task["status"], task["waiting_for"], task["result"]) == ("queued", WAITING, None)
        again = owner.post("/v1/characters", json=body, headers={"Idempotency-Key": "doubt-1"})
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == task["id"]
        task_id = task["id"]
        polled = owner.get(f"/v1/tasks/{task_id}").json()
        assert (polled["status"], polled["waiting_for"]) == ("queued", WAITING)
        listed = owner.get("/v1/tasks").json()["data"]
        assert [t["waiting_for"] for t in listed if t["id"] == task_id] == [WAITING]
        assert_error(stranger.get(f"/v1/tasks/{task_id}"), 404, "task_not_found")
        # The owner sees the wait, not the desk.
        assert owner.post(f"/v1/reviews/{task_id}/approve", json={}).status_code == 404
        assert owner.get(f"/v1/reviews/{task_id}/evidence/0.jpg").status_code == 404

        [review] = operator.get("/v1/reviews").json()["data"]
        assert (review["id"], review["status"], review["task_status"]) == (
            task_id,
            "waiting",
            "queued",
        )
        assert review["owner"] == "env_" + review["owner"].removeprefix("env_")
        assert (review["username"], review["name"], review["timestamps"]) == (
            "doubtful",
            "Doubtful",
            "0,2",
        )
        assert review["reason"] and review["evidence"]
        assert review["expires_at"] - review["created_at"] == 72 * 3600
        for url in review["evidence"]:
            frame = operator.get(url)
            assert frame.status_code == 200
            assert frame.headers["content-type"] == "image/jpeg"
            assert frame.content[:2] == b"\xff\xd8"
        assert operator.get(f"/v1/reviews/{task_id}").json() == review

        approved = operator.post(f"/v1/reviews/{task_id}/approve", json={"why": "a drawn face"})
        assert approved.status_code == 200, approved.text
        decided = approved.json()
        assert (decided["status"], decided["task_status"], decided["why"]) == (
            "approved",
            "completed",
            "a drawn face",
        )
        assert decided["decided_by"].startswith("ops (key_") and decided["decided_at"]
        twice = operator.post(f"/v1/reviews/{task_id}/reject", json={})
        assert "already approved" in assert_error(twice, 400, "invalid_request", "task_id")

        done = owner.get(f"/v1/tasks/{task_id}").json()
        assert done["status"] == "completed" and done["waiting_for"] is None
        character = done["result"]
        assert character["username"] == "doubtful" and character["id"] == done["character_id"]
        assert character["likeness"] == {
            "screening": "uncertain",
            "reason": review["reason"],
            "attested": False,
            "reviewed_at": decided["decided_at"],
        }
        assert owner.get(character["profile_picture_url"]).status_code == 200
        assert ledger_kinds(owner, task_id) == ["charge", "reserve"]
        assert operator.get("/v1/reviews").json()["data"] == []
        assert [r["id"] for r in operator.get("/v1/reviews?status=approved").json()["data"]] == [
            task_id
        ]
    assert event_types(receiver, 3, task_id) == [
        "character.review_requested",
        "character.review_approved",
        "character.completed",
    ]


def test_reviews_wait_through_a_restart_and_are_decided_with_the_cli(
    make_server: StartServer, receiver: Receiver, uncertain_url: str
) -> None:
    server = make_server({**REVIEW_ENV, **webhooks(receiver), "TROUPE_MAX_CONCURRENT_JOBS": "1"})
    alice = stored_key(server, "alice", credit=1.0)
    with server.client(alice) as owner:
        rejected = start_uncertain_task(owner, uncertain_url)
        wait_until_waiting(owner, rejected)
        # A waiting task holds no worker, so it does not count against the concurrency limit.
        approved = start_uncertain_task(owner, uncertain_url, username="kept_one")
        wait_until_waiting(owner, approved)
        usage = owner.get("/v1/usage").json()
        assert (usage["balance"], usage["held"]) == (pytest.approx(0.98), pytest.approx(0.02))

    server.stop()
    server.start()

    listed = json.loads(troupe_cli(server, "review", "list", "--json").stdout)["data"]
    assert [item["id"] for item in listed] == [rejected, approved]
    shown = troupe_cli(server, "review", "show", rejected).stdout
    assert "doubt" in shown and "alice" in shown
    frames = [line.split(maxsplit=1)[1] for line in shown.splitlines() if line.startswith("frame")]
    assert frames and all(Path(frame).read_bytes()[:2] == b"\xff\xd8" for frame in frames)

    troupe_cli(server, "review", "reject", rejected, "--why", "a photograph", "--by", "carol")
    troupe_cli(server, "review", "approve", approved, "--by", "carol")
    late = troupe_cli(server, "review", "approve", rejected, check=False)
    assert late.returncode != 0 and "already rejected by carol" in late.stderr

    with server.client(alice) as owner:
        failed = wait_for_task(owner, rejected)
        assert failed["error"]["code"] == "human_likeness_detected"
        assert "a photograph" in failed["error"]["message"]
        made = wait_for_task(owner, approved)
        assert made["status"] == "completed" and made["result"]["username"] == "kept_one"
        assert made["result"]["likeness"]["reviewed_at"]
        assert ledger_kinds(owner, rejected) == ["refund", "reserve"]
        assert ledger_kinds(owner, approved) == ["charge", "reserve"]
        assert owner.get("/v1/usage").json()["balance"] == pytest.approx(0.99)
    decisions = json.loads(troupe_cli(server, "review", "list", "--status", "all", "--json").stdout)
    assert {
        item["id"]: (item["status"], item["decided_by"], item["why"]) for item in decisions["data"]
    } == {
        rejected: ("rejected", "carol (troupe review)", "a photograph"),
        approved: ("approved", "carol (troupe review)", None),
    }
    assert event_types(receiver, 3, rejected) == [
        "character.review_requested",
        "character.review_rejected",
        "character.failed",
    ]
    assert event_types(receiver, 3, approved)[1:] == [
        "character.review_approved",
        "character.completed",
    ]


def test_a_review_nobody_decides_expires_failed_and_refunded(
    make_server: StartServer, receiver: Receiver, uncertain_url: str
) -> None:
    env = {**REVIEW_ENV, **webhooks(receiver), "TROUPE_LIKENESS_REVIEW_HOURS": "0.002"}
    server = make_server(env)
    bob = stored_key(server, "bob", credit=1.0)
    operator_key = stored_key(server, "ops", "--operator")
    with server.client(bob) as owner, server.client(operator_key) as operator:
        task_id = start_uncertain_task(owner, uncertain_url)
        wait_until_waiting(owner, task_id)
        failed = wait_for_task(owner, task_id, timeout=60)
        assert failed["error"]["code"] == "human_likeness_detected"
        assert "no operator reviewed it within 7 seconds" in failed["error"]["message"]
        assert ledger_kinds(owner, task_id) == ["refund", "reserve"]
        assert owner.get("/v1/usage").json()["balance"] == pytest.approx(1.0)
        [expired] = operator.get("/v1/reviews", params={"status": "expired"}).json()["data"]
        assert (expired["id"], expired["decided_by"]) == (task_id, "troupe")
        late = operator.post(f"/v1/reviews/{task_id}/approve", json={})
        assert "already expired" in assert_error(late, 400, "invalid_request")
    assert event_types(receiver, 3, task_id) == [
        "character.review_requested",
        "character.review_expired",
        "character.failed",
    ]
    characters = server.data_dir / "blobs" / "characters"
    assert not characters.exists() or not any(characters.iterdir()), "its files were removed"


def test_an_attesting_key_passes_the_uncertain_band(
    make_server: StartServer, uncertain_url: str, media: MediaServer
) -> None:
    server = make_server()  # the default policy: uncertain is refused
    studio = stored_key(server, "studio", "--may-attest")
    with server.client(studio) as attester, server.client() as plain:
        made = attester.post(
            "/v1/characters", json={"url": uncertain_url, "timestamps": "0,2", ATTEST: True}
        )
        assert made.status_code == 200, made.text
        likeness = made.json()["likeness"]
        assert (likeness["attested"], likeness["reviewed_at"]) == (True, None)
        assert likeness["reason"]
        refused = plain.post(
            "/v1/characters", json={"url": uncertain_url, "timestamps": "0,2", ATTEST: True}
        )
        assert_error(refused, 400, "invalid_request", ATTEST)

        # The SDK's multipart upload takes the attestation as a form field.
        clip = Path(media.root / "uncertain.mp4")
        with clip.open("rb") as video:
            uploaded = attester.post(
                "/v1/videos/characters",
                data={"name": "Uploaded", "timestamps": "0,2", ATTEST: "true"},
                files={"video": ("uncertain.mp4", video)},
            )
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json()["likeness"]["attested"] is True

        # An inline character cannot wait for a review: refused unless attested.
        inline = {"prompt": "@inline_doubt waves", "seconds": "4", "size": "720x1280"}
        inline |= {"character_url": uncertain_url, "character_timestamps": "0,2"}
        inline |= {"character_username": "inline_doubt"}
        video = plain.post("/v1/videos", json=inline).json()
        failed = wait_for_task(plain, video["id"], timeout=240)
        message = failed["error"]["message"]
        assert failed["error"]["code"] == "human_likeness_detected"
        assert "cannot wait for a review" in message and "POST /v1/characters" in message
        attested = attester.post("/v1/videos", json={**inline, ATTEST: True}).json()
        rendered = wait_for_task(attester, attested["id"], timeout=300)
        assert rendered["status"] == "completed", rendered
        character = attester.get("/v1/characters/inline_doubt").json()
        assert character["likeness"]["attested"] is True


def test_the_client_attests_and_the_cli_says_it_waits_for_a_review(
    make_server: StartServer, uncertain_url: str
) -> None:
    server = make_server(REVIEW_ENV)
    studio = stored_key(server, "studio", "--may-attest")
    operator_key = stored_key(server, "ops", "--operator")
    with Client(server.base_url, api_key=studio) as client:
        made = client.create_character(
            url=uncertain_url, timestamps="0,2", attest_original_character=True
        )
    assert made["likeness"]["attested"] is True

    command = [sys.executable, "-m", "troupe", "character", "create", "--url", uncertain_url]
    command += ["--timestamps", "0,2", "--username", "cli_doubt"]
    command += ["--server", server.base_url, "--api-key", "test-key-alpha", "--json"]
    cli = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [said.put(line) for line in cli.stderr or ()]).start()
    try:
        # The operator decides once the CLI has said what it waits for.
        while f"waiting for {WAITING}" not in said.get(timeout=180):
            pass
        with server.client(operator_key) as operator:
            [review] = operator.get("/v1/reviews").json()["data"]
            operator.post(f"/v1/reviews/{review['id']}/approve", json={}).raise_for_status()
        out = cli.stdout.read() if cli.stdout else ""
        cli.wait(timeout=120)
    finally:
        cli.kill()
    assert cli.returncode == 0
    assert json.loads(out)["username"] == "cli_doubt"
