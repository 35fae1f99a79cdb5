"""Webhooks: signatures the openai SDK accepts, the outbox's leases and retries, and events from
a live server to a real HTTP receiver."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from openai import InvalidWebhookSignatureError, OpenAI
from sqlalchemy import select

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess, free_port, wait_for_task
from troupe.errors import TroupeError
from troupe.jobs import queue
from troupe.jobs.queue import ClaimedJob
from troupe.jobs.webhooks import (
    DueEvent,
    WebhookSender,
    claim_next_event,
    enqueue_event,
    retry_delay,
    signed_headers,
    signing_key,
)
from troupe.store import repo
from troupe.store.db import Database
from troupe.store.tables import WebhookEvent

SECRET = "whsec_" + base64.b64encode(b"troupe webhook test secret, 32b").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody else's secret, 32 bytes").decode()
EVENT_WAIT_SECONDS = 120.0


def sdk() -> OpenAI:
    return OpenAI(api_key="unused", webhook_secret=SECRET)


def signed(event: DueEvent, secret: str = SECRET) -> tuple[str, dict[str, str]]:
    body = event.body()
    return body, signed_headers(signing_key(secret), event.id, int(time.time()), body)


# --- signing ----------------------------------------------------------------------------------


def test_signed_event_unwraps_with_the_openai_sdk() -> None:
    event = DueEvent("evt_1", "video.completed", "video_abc", created_at=1_700_000_000, attempt=1)
    body, headers = signed(event)
    unwrapped = sdk().webhooks.unwrap(body, headers)
    assert unwrapped.type == "video.completed"
    assert unwrapped.id == "evt_1"
    assert unwrapped.object == "event"
    assert unwrapped.created_at == 1_700_000_000
    assert unwrapped.data.id == "video_abc"


def test_tampered_body_wrong_secret_or_other_id_is_refused() -> None:
    event = DueEvent("evt_2", "video.failed", "video_abc", created_at=1_700_000_000, attempt=1)
    body, headers = signed(event)
    tampered = body.replace("video_abc", "video_xyz")
    with pytest.raises(InvalidWebhookSignatureError):
        sdk().webhooks.verify_signature(tampered, headers)
    with pytest.raises(InvalidWebhookSignatureError):
        sdk().webhooks.verify_signature(*signed(event, OTHER_SECRET))
    with pytest.raises(InvalidWebhookSignatureError):
        sdk().webhooks.verify_signature(body, {**headers, "webhook-id": "evt_other"})


def test_signing_key_reads_secrets_as_the_sdk_does() -> None:
    assert signing_key("whsec_" + base64.b64encode(b"key").decode()) == b"key"
    assert signing_key("plain") == b"plain"
    event = DueEvent("evt_3", "character.completed", "task_1", created_at=1, attempt=1)
    OpenAI(api_key="unused").webhooks.verify_signature(*signed(event, "plain"), secret="plain")
    with pytest.raises(ValueError):
        signing_key("")
    with pytest.raises(ValueError):
        signing_key("whsec_not base64!")


def test_retry_delay_doubles_then_caps() -> None:
    delays = [retry_delay(attempt, 1.0, 300.0) for attempt in range(1, 12)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


# --- the outbox on real databases -------------------------------------------------------------


def claimed_job(
    db: Database, task_id: str, lease_seconds: float = 30, max_attempts: int = 3
) -> ClaimedJob:
    with db.transaction() as session:
        repo.create_task(
            session, task_id=task_id, owner="o", kind="character", model="m", request={}
        )
    job = queue.claim_next(db, "w", lease_seconds, max_attempts)
    assert job is not None
    return job


def events(db: Database) -> set[tuple[str, str]]:
    with db.transaction() as session:
        return {(row.type, row.object_id) for row in session.scalars(select(WebhookEvent))}


def fail_late(session: object) -> None:
    raise TroupeError("username_taken", "taken meanwhile")


def test_settle_writes_its_event_in_the_same_transaction(db: Database) -> None:
    assert queue.settle(db, claimed_job(db, "task_quiet"), lambda session: None, None)
    assert events(db) == set(), "no events unless asked for"

    done = claimed_job(db, "task_done")
    assert queue.settle(db, done, lambda session: None, None, webhook_events=True)
    assert not queue.settle(db, done, lambda session: None, None, webhook_events=True)
    assert events(db) == {("character.completed", "task_done")}

    late = claimed_job(db, "task_late")
    with pytest.raises(TroupeError):
        queue.settle(db, late, fail_late, None, webhook_events=True)
    error = TroupeError("username_taken", "taken meanwhile")
    assert queue.settle(db, late, None, error, webhook_events=True)
    # The success rolled back with its event; only the failure's event is left.
    assert events(db) - {("character.completed", "task_done")} == {
        ("character.failed", "task_late")
    }


def test_a_given_up_job_writes_a_failed_event(db: Database) -> None:
    claimed_job(db, "task_crashy", lease_seconds=0.05, max_attempts=1)
    time.sleep(0.1)
    assert queue.claim_next(db, "w", 30, max_attempts=1, webhook_events=True) is None
    assert events(db) == {("character.failed", "task_crashy")}


def test_each_event_is_claimed_by_one_sender_at_a_time(db: Database) -> None:
    with db.transaction() as session:
        ids = {enqueue_event(session, "video.completed", f"video_{n}") for n in range(30)}
    claimed: list[str] = []
    lock = threading.Lock()

    def drain() -> None:
        while event := claim_next_event(db, lease_seconds=30):
            with lock:
                claimed.append(event.id)

    threads = [threading.Thread(target=drain) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)


def test_a_claim_is_a_lease(db: Database) -> None:
    with db.transaction() as session:
        event_id = enqueue_event(session, "video.completed", "video_1")
    first = claim_next_event(db, lease_seconds=0.2)
    assert first is not None and (first.id, first.attempt) == (event_id, 1)
    assert claim_next_event(db, lease_seconds=30) is None, "leased: nobody else sends it now"
    time.sleep(0.3)
    second = claim_next_event(db, lease_seconds=30)
    assert second is not None and (second.id, second.attempt) == (event_id, 2)


# --- a receiver over real HTTP ----------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]  # lower-case names
    body: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records every POST and answers scripted statuses."""

    def __init__(self, statuses: list[int]) -> None:
        self.deliveries: list[Delivery] = []
        self._statuses = statuses  # answered in turn; 200 once they run out
        self._arrived = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def _record(self, headers: dict[str, str], body: str) -> int:
        with self._arrived:
            self.deliveries.append(Delivery(headers, body))
            self._arrived.notify_all()
            return self._statuses.pop(0) if self._statuses else 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"])).decode()
                headers = {name.lower(): value for name, value in self.headers.items()}
                self.send_response(receiver._record(headers, body))
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def wait_for(self, count: int, about: str) -> list[Delivery]:
        """The first `count` deliveries of events about object `about`, waiting for them."""

        def matching() -> list[Delivery]:
            return [d for d in self.deliveries if d.event["data"]["id"] == about]

        with self._arrived:
            self._arrived.wait_for(lambda: len(matching()) >= count, EVENT_WAIT_SECONDS)
            found = matching()
        assert len(found) >= count, f"{len(found)} of {count} deliveries about {about}"
        return found[:count]


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(*statuses: int) -> Receiver:
        started.append(Receiver(list(statuses)))
        return started[-1]

    yield start
    for receiver in started:
        receiver.server.shutdown()


def webhook_env(url: str) -> dict[str, str]:
    return {"TROUPE_WEBHOOK_URL": url, "TROUPE_WEBHOOK_SECRET": SECRET}


def create_character_task(server: ServerProcess, media: MediaServer, clip: str) -> dict[str, Any]:
    with server.client() as client:
        response = client.post(
            "/v1/videos/generations", json={"url": media.url(clip), "timestamps": "0,2"}
        )
        assert response.status_code == 200, response.text
        return wait_for_task(client, response.json()["id"])


def verified(delivery: Delivery) -> dict[str, Any]:
    """The event, once its signature checks out with the openai SDK."""
    sdk().webhooks.verify_signature(delivery.body, delivery.headers)
    return delivery.event


def outbox_row(db: Database, event_id: str) -> WebhookEvent:
    with db.transaction() as session:
        row = session.get(WebhookEvent, event_id)
        assert row is not None
        return row


def test_sender_retries_then_gives_up(db: Database, make_receiver: Callable[..., Receiver]) -> None:
    receiver = make_receiver(500, 500, 500, 500)
    with db.transaction() as session:
        event_id = enqueue_event(session, "video.failed", "video_1")
    sender = WebhookSender(db, receiver.url, SECRET, 3, base_delay_seconds=0.01, poll_seconds=0.05)
    sender.start()
    try:
        tries = receiver.wait_for(3, about="video_1")
        deadline = time.monotonic() + EVENT_WAIT_SECONDS
        while (row := outbox_row(db, event_id)).failed_at is None:
            assert time.monotonic() < deadline, "the event was never given up"
            time.sleep(0.05)
    finally:
        sender.stop()
    assert {t.headers["webhook-id"] for t in tries} == {event_id}
    assert (row.attempts, row.delivered_at, row.last_error) == (3, None, "HTTP 500")
    assert len(receiver.deliveries) == 3, "no attempt after the last"


# --- a live server ----------------------------------------------------------------------------


def test_a_created_character_sends_one_signed_completed_event(
    make_server: StartServer, make_receiver: Callable[..., Receiver], media: MediaServer
) -> None:
    receiver = make_receiver()
    server = make_server(webhook_env(receiver.url))
    task = create_character_task(server, media, "small.mp4")
    assert task["status"] == "completed", task
    [delivery] = receiver.wait_for(1, about=task["id"])
    event = verified(delivery)
    assert event["type"] == "character.completed"
    assert event["object"] == "event"
    assert event["id"].startswith("evt_") and event["id"] == delivery.headers["webhook-id"]
    assert event["data"] == {"id": task["id"]}
    assert isinstance(event["created_at"], int)
    assert delivery.headers["content-type"] == "application/json"


def test_a_failed_creation_sends_a_failed_event(
    make_server: StartServer, make_receiver: Callable[..., Receiver], media: MediaServer
) -> None:
    receiver = make_receiver()
    server = make_server(webhook_env(receiver.url))
    task = create_character_task(server, media, "empty.mp4")
    assert task["status"] == "failed", task
    [delivery] = receiver.wait_for(1, about=task["id"])
    assert verified(delivery)["type"] == "character.failed"


def test_receiver_errors_are_retried_with_the_same_event_id(
    make_server: StartServer, make_receiver: Callable[..., Receiver], media: MediaServer
) -> None:
    receiver = make_receiver(500, 500)
    server = make_server(webhook_env(receiver.url))
    task = create_character_task(server, media, "small.mp4")
    tries = receiver.wait_for(3, about=task["id"])
    assert len({t.headers["webhook-id"] for t in tries}) == 1
    assert len({t.event["id"] for t in tries}) == 1
    assert verified(tries[-1])["type"] == "character.completed"


def test_an_unreachable_receiver_does_not_hold_up_jobs(
    make_server: StartServer, media: MediaServer
) -> None:
    server = make_server(webhook_env(f"http://127.0.0.1:{free_port()}/hooks"))
    task = create_character_task(server, media, "small.mp4")
    assert task["status"] == "completed", task
    db = Database(f"sqlite:///{server.data_dir / 'troupe.db'}")
    try:
        deadline = time.monotonic() + EVENT_WAIT_SECONDS
        while not (rows := pending_events(db)) or rows[0].last_error is None:
            assert time.monotonic() < deadline, "no delivery was attempted"
            time.sleep(0.1)
    finally:
        db.dispose()
    assert rows[0].object_id == task["id"]
    assert "ConnectError" in (rows[0].last_error or "")
    with server.client() as client:
        assert client.get("/healthz").status_code == 200


def pending_events(db: Database) -> list[WebhookEvent]:
    with db.transaction() as session:
        return list(
            session.scalars(select(WebhookEvent).where(WebhookEvent.delivered_at.is_(None)))
        )


def test_a_webhook_url_without_a_secret_stops_the_server(make_server: StartServer) -> None:
    unsigned = {"TROUPE_WEBHOOK_URL": "http://127.0.0.1:9/hooks", "TROUPE_WEBHOOK_SECRET": ""}
    with pytest.raises(RuntimeError, match="TROUPE_WEBHOOK_SECRET"):
        make_server(unsigned)


def test_videos_send_completed_and_failed_events(
    make_server: StartServer, make_receiver: Callable[..., Receiver], media: MediaServer
) -> None:
    receiver = make_receiver()
    server = make_server(webhook_env(receiver.url))
    with server.client() as client:
        rendered = client.post("/v1/videos", json={"prompt": "a beach at noon"}).json()
        # The inline character's source has no subject, so this video fails.
        failing = client.post(
            "/v1/videos", json={"prompt": "x", "character_url": media.url("empty.mp4")}
        ).json()
    [done] = receiver.wait_for(1, about=rendered["id"])
    [failed] = receiver.wait_for(1, about=failing["id"])
    assert verified(done)["type"] == "video.completed"
    assert verified(done)["data"] == {"id": rendered["id"]}
    assert verified(failed)["type"] == "video.failed"
