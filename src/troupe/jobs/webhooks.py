"""Signed webhooks from an outbox: events are rows written with a job's outcome, and a sender
thread POSTs them, signed as Standard Webhooks (as OpenAI's are), until delivered or given up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from troupe import __version__
from troupe.ids import new_id, now_seconds
from troupe.settings import Settings
from troupe.store.db import Database
from troupe.store.tables import WebhookEvent

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
DELIVERY_TIMEOUT_SECONDS = 10.0
# Longer than any one POST can take, so a live sender never loses its event to another process;
# a sender that died mid-POST has its event sent again by someone once this runs out.
CLAIM_LEASE_SECONDS = 60.0
MAX_ERROR_CHARS = 500


# --- signing (pure) ---------------------------------------------------------------------------


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: `whsec_<base64>` decoded, any other string as its UTF-8 bytes.

    The openai SDK's `verify_signature` reads secrets the same two ways.
    """
    if not secret:
        raise ValueError("webhooks need a secret to sign with: set TROUPE_WEBHOOK_SECRET")
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    return secret.encode()


def signature(key: bytes, event_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`."""
    digest = hmac.new(key, f"{event_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(key: bytes, event_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, event_id, timestamp, body),
    }


def retry_delay(attempt: int, base_seconds: float, max_seconds: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): doubling, capped."""
    return float(min(max_seconds, base_seconds * 2 ** (attempt - 1)))


# --- the outbox -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueEvent:
    """An event claimed for one delivery attempt."""

    id: str
    type: str
    object_id: str
    created_at: int
    attempt: int

    def body(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "object": "event",
                "created_at": self.created_at,
                "type": self.type,
                "data": {"id": self.object_id},
            },
            separators=(",", ":"),
        )


def enqueue_event(session: Session, event_type: str, object_id: str) -> str:
    """Add an event to the outbox in the caller's transaction; its id, `evt_…`."""
    event_id = new_id("evt")
    session.add(
        WebhookEvent(
            id=event_id,
            type=event_type,
            object_id=object_id,
            created_at=now_seconds(),
            attempts=0,
            next_attempt_at=time.time(),
        )
    )
    return event_id


def _pending() -> ColumnElement[bool]:
    return WebhookEvent.delivered_at.is_(None) & WebhookEvent.failed_at.is_(None)


def claim_next_event(db: Database, lease_seconds: float) -> DueEvent | None:
    """Take the most overdue event for one attempt, or None.

    The conditional UPDATE pushes `next_attempt_at` past the lease, so no other sender (thread,
    process or machine on this database) sees the event as due while this one sends it.
    """
    while True:
        now = time.time()
        with db.transaction() as session:
            candidate = session.scalar(
                select(WebhookEvent)
                .where(_pending(), WebhookEvent.next_attempt_at <= now)
                .order_by(WebhookEvent.next_attempt_at)
                .limit(1)
            )
            if candidate is None:
                return None
            # Read before the UPDATE, which also refreshes `candidate` in the session.
            attempt = candidate.attempts + 1
            taken = session.execute(
                update(WebhookEvent)
                .where(
                    WebhookEvent.id == candidate.id,
                    WebhookEvent.attempts == attempt - 1,
                    WebhookEvent.next_attempt_at <= now,
                    _pending(),
                )
                .values(attempts=attempt, next_attempt_at=now + lease_seconds)
            ).rowcount  # type: ignore[attr-defined]
            if not taken:
                continue  # another sender won the race; look again
            return DueEvent(
                id=candidate.id,
                type=candidate.type,
                object_id=candidate.object_id,
                created_at=candidate.created_at,
                attempt=attempt,
            )


def record_delivered(db: Database, event: DueEvent) -> None:
    with db.transaction() as session:
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event.id, WebhookEvent.delivered_at.is_(None))
            .values(delivered_at=now_seconds())
        )


def record_failed_attempt(
    db: Database, event: DueEvent, error: str, retry_at: float | None
) -> None:
    """Note why an attempt failed; schedule the next at `retry_at`, or give up when it is None."""
    outcome = {"failed_at": now_seconds()} if retry_at is None else {"next_attempt_at": retry_at}
    with db.transaction() as session:
        session.execute(
            update(WebhookEvent)
            # A sender whose lease ran out must not reschedule an attempt that is no longer its.
            .where(WebhookEvent.id == event.id, WebhookEvent.attempts == event.attempt, _pending())
            .values(last_error=error[:MAX_ERROR_CHARS], **outcome)
        )


# --- the sender -------------------------------------------------------------------------------


class WebhookSender:
    """A thread that POSTs due events to one URL, one at a time, retrying with backoff."""

    def __init__(
        self,
        db: Database,
        url: str,
        secret: str,
        max_attempts: int,
        *,
        base_delay_seconds: float = 1.0,
        max_delay_seconds: float = 300.0,
        poll_seconds: float = 0.5,
    ) -> None:
        self.db = db
        self.url = url
        self.key = signing_key(secret)  # a bad secret stops the server at start, not at send
        self.max_attempts = max_attempts
        self.base_delay_seconds = base_delay_seconds
        self.max_delay_seconds = max_delay_seconds
        self.poll_seconds = poll_seconds
        # Imported here, as in `_post`: only a server with a webhook URL sends, and every
        # process that writes the outbox imports this module.
        import httpx

        # No SSRF screening: the URL is the operator's own configuration, often a private host.
        self._client = httpx.Client(
            timeout=DELIVERY_TIMEOUT_SECONDS, headers={"user-agent": f"troupe/{__version__}"}
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="troupe-webhooks", daemon=True)

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> WebhookSender:
        return cls(db, settings.webhook_url, settings.webhook_secret, settings.webhook_max_attempts)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=DELIVERY_TIMEOUT_SECONDS + 5)
        self._client.close()

    def _send_due(self) -> None:
        """Attempt every event that is due now (and those that fall due meanwhile)."""
        while not self._stopping.is_set():
            event = claim_next_event(self.db, CLAIM_LEASE_SECONDS)
            if event is None:
                return
            self._attempt(event)

    def _run(self) -> None:
        while True:
            try:
                self._send_due()
            except Exception:
                log.exception("sending webhooks failed")
            if self._stopping.wait(self.poll_seconds):
                return

    def _attempt(self, event: DueEvent) -> None:
        error = self._post(event)
        if error is None:
            record_delivered(self.db, event)
        elif event.attempt >= self.max_attempts:
            log.warning("webhook %s (%s) given up: %s", event.id, event.type, error)
            record_failed_attempt(self.db, event, error, retry_at=None)
        else:
            delay = retry_delay(event.attempt, self.base_delay_seconds, self.max_delay_seconds)
            record_failed_attempt(self.db, event, error, retry_at=time.time() + delay)

    def _post(self, event: DueEvent) -> str | None:
        """None when the receiver took the event (any 2xx), else why not."""
        import httpx

        body = event.body()
        # Signed afresh on each attempt: receivers refuse old timestamps, and dedupe on the id.
        headers = signed_headers(self.key, event.id, now_seconds(), body)
        try:
            response = self._client.post(
                self.url, content=body, headers={"content-type": "application/json", **headers}
            )
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return f"{type(error).__name__}: {error}"
        return None if response.is_success else f"HTTP {response.status_code}"
