"""`Idempotency-Key` on POST: the first answer to a key is stored and replayed to the retries that
reuse it, so a retried request never starts a second job (Stripe's design)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import IO

import anyio
from fastapi.concurrency import run_in_threadpool
from python_multipart.multipart import parse_options_header
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from troupe.api.auth import authenticated_owner
from troupe.api.errors import error_response
from troupe.api.services import services_of
from troupe.errors import TroupeError
from troupe.store import idempotency
from troupe.store.db import Database
from troupe.store.tables import IdempotencyRecord

MAX_KEY_CHARS = 255
# Headers that belong to the answer itself; others (date, rate-limit counters) describe only the
# moment it was first sent.
REPLAYED_HEADERS = frozenset(
    {"content-type", "location", "openai-poll-after-ms", "retry-after", "retry-after-ms"}
)
# Uploads go up to hundreds of megabytes: past this the body waits on disk, not in memory.
SPOOL_MEMORY_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024


class IdempotencyMiddleware:
    """Claims the key of a keyed POST before it runs, then stores or replays its answer."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        key = request.headers.get("idempotency-key")
        owner = await owner_of(request) if key is not None else None
        if key is None or owner is None:
            # Without a valid API key the route answers as it always does: 401.
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= MAX_KEY_CHARS:
            message = f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters"
            await error_response(TroupeError("invalid_request", message))(scope, receive, send)
            return
        claim = Claim(services_of(request).db, owner, key)
        with SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
            await self.read_then_run(claim, request, spool, send)

    async def read_then_run(
        self, claim: Claim, request: Request, spool: IO[bytes], send: Send
    ) -> None:
        """Take the whole body first: its fingerprint decides whether the request runs at all."""
        try:
            request_hash = await read_body(
                request.receive, spool, Fingerprint.of(request), self.max_body_bytes
            )
        except TroupeError as error:
            await error_response(error)(request.scope, request.receive, send)
            return
        if request_hash is not None:
            await self.run_once(
                claim, request_hash, request.scope, replay(spool, request.receive), send
            )

    async def run_once(
        self, claim: Claim, request_hash: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        held = await run_in_threadpool(
            idempotency.claim, claim.db, claim.owner, claim.key, request_hash
        )
        if held is not None:
            await answer_for(held, request_hash)(scope, receive, send)
            return
        recorder = AnswerRecorder(send, claim)
        try:
            await self.app(scope, receive, recorder)
        finally:
            if not recorder.saved:
                # Shielded: a cancelled request must still free its key, or retries see 409s.
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(idempotency.release, claim.db, claim.owner, claim.key)


async def owner_of(request: Request) -> str | None:
    """The owner the routes will see; None when the API key is missing or wrong."""
    try:
        return await authenticated_owner(request)
    except TroupeError:
        return None


class Fingerprint:
    """SHA-256 of method, path, query and body, blind to the multipart boundary: clients pick a
    fresh random boundary for every attempt, so a retried upload differs only there."""

    def __init__(self, head: bytes, boundary: bytes) -> None:
        self._hash = hashlib.sha256(head)
        self._boundary = boundary
        self._tail = b""

    @classmethod
    def of(cls, request: Request) -> Fingerprint:
        _, options = parse_options_header(request.headers.get("content-type"))
        scope = request.scope
        head = f"{scope['method']}\n{scope['path']}\n".encode() + scope["query_string"] + b"\n"
        return cls(head, options.get(b"boundary", b""))

    def update(self, chunk: bytes) -> None:
        if not self._boundary:
            self._hash.update(chunk)
            return
        *whole, last = (self._tail + chunk).split(self._boundary)
        for piece in whole:
            self._hash.update(piece + b"\n--boundary--\n")
        # The end may hold the start of a boundary that the next chunk completes.
        cut = max(0, len(last) - (len(self._boundary) - 1))
        self._hash.update(last[:cut])
        self._tail = last[cut:]

    def hexdigest(self) -> str:
        self._hash.update(self._tail)
        self._tail = b""
        return self._hash.hexdigest()


async def read_body(
    receive: Receive, spool: IO[bytes], fingerprint: Fingerprint, max_bytes: int
) -> str | None:
    """Copy the body into `spool`; its fingerprint, or None when the client left before the end."""
    size = 0
    more_body = True
    while more_body:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            # A body sent without a declared length gets past the app's own check on it.
            raise TroupeError("file_too_large", f"the request body is over {max_bytes} bytes")
        # A 64 KiB write lands in the page cache; a thread hop per chunk would cost more.
        spool.write(chunk)
        fingerprint.update(chunk)
        more_body = message.get("more_body", False)
    return fingerprint.hexdigest()


def replay(spool: IO[bytes], receive: Receive) -> Receive:
    """The body again, from the spool, then whatever the client sends next (its disconnect)."""
    spool.seek(0)
    sent_all = False

    async def replayed() -> Message:
        nonlocal sent_all
        if sent_all:
            return await receive()
        chunk = spool.read(CHUNK_BYTES)
        sent_all = len(chunk) < CHUNK_BYTES
        return {"type": "http.request", "body": chunk, "more_body": not sent_all}

    return replayed


def answer_for(held: IdempotencyRecord, request_hash: str) -> Response:
    """What a request gets for a key another request claimed first."""
    if held.request_hash != request_hash:
        message = "this Idempotency-Key was already used with a different request"
        return error_response(TroupeError("idempotency_conflict", message))
    if held.state != "done":
        message = "the first request with this Idempotency-Key is still running; retry later"
        return error_response(TroupeError("idempotency_conflict", message))
    assert held.status_code is not None, "a done record holds its answer"
    headers = {**(held.response_headers or {}), "idempotent-replayed": "true"}
    return Response(held.response_body, status_code=held.status_code, headers=headers)


@dataclass(frozen=True)
class Claim:
    """A key held by the request now running."""

    db: Database
    owner: str
    key: str

    def settle(self, status_code: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Keep a final answer; drop a transient one (429, 5xx) so that a retry runs again."""
        text = as_text(body)
        if status_code == 429 or status_code >= 500 or text is None:
            idempotency.release(self.db, self.owner, self.key)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw_headers
        }
        kept = {name: value for name, value in headers.items() if name in REPLAYED_HEADERS}
        idempotency.finish(self.db, self.owner, self.key, status_code, text, kept)


def as_text(body: bytes) -> str | None:
    """The body as the record's text column keeps it; None for bytes that are not UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass
class AnswerRecorder:
    """The `send` of the keyed request: passes its answer on, saving it before the last byte
    goes out, so that a retry sent the moment the client has it finds it stored."""

    send: Send
    claim: Claim
    status_code: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    saved: bool = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status_code = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                await run_in_threadpool(
                    self.claim.settle, self.status_code, self.headers, bytes(self.body)
                )
                self.saved = True
        await self.send(message)
