"""JSON answers serialised once by pydantic, and the `ETag` / `304 Not Modified` of objects that
no longer change (a completed video or task, a character), so a polling client gets no body."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request, Response
from pydantic import BaseModel

if TYPE_CHECKING:
    from troupe.api.character_json import CharacterJson

JSON = "application/json"
# How long a settled object's answer is reused without reading the database. A client polling a
# finished video asks many times a second; the object changes only when it is deleted (which
# forgets it here at once, in this process), when its files expire (the entry never outlives
# `expires_at`), or when a character in it is deleted: another process's change shows within
# this long.
SETTLED_CACHE_SECONDS = 1.0
SETTLED_CACHE_MAX_ENTRIES = 10_000


CacheKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class Tagged:
    """A settled object's body and its ETag."""

    body: bytes
    etag: str


class SettledCache:
    """Answers of settled objects by (kind, owner, id, base URL), each kept `ttl` seconds at most.
    The kind tells a video's answer from its task's, which share the id."""

    def __init__(
        self, ttl: float = SETTLED_CACHE_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[CacheKey, tuple[float, Tagged]] = {}
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> Tagged | None:
        entry = self._entries.get(key)
        if entry is None or self.clock() >= entry[0]:
            return None
        return entry[1]

    def put(self, key: CacheKey, tagged: Tagged, expires_at: int | None) -> None:
        until = self.clock() + self.ttl
        if expires_at is not None:
            until = min(until, expires_at)
        with self._lock:
            if len(self._entries) >= SETTLED_CACHE_MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (until, tagged)

    def forget(self, object_id: str) -> None:
        with self._lock:
            for key in [key for key in self._entries if key[2] == object_id]:
                del self._entries[key]


def settled_cache_of(request: Request) -> SettledCache:
    return request.app.state.settled_cache  # type: ignore[no-any-return]


def character_json_of(request: Request) -> CharacterJson:
    return request.app.state.character_json  # type: ignore[no-any-return]


def json_answer(
    shown: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """The wire model as JSON, without FastAPI validating it again against `response_model`."""
    return Response(shown.model_dump_json(), status_code, headers, media_type=JSON)


def tagged(shown: BaseModel) -> Tagged:
    """The object's JSON and an ETag that is a digest of those very bytes, so whatever changes
    them (a video's files expiring, a character made public, another Host in its URLs)
    changes the tag as well."""
    return tagged_bytes(shown.model_dump_json().encode())


def tagged_bytes(body: bytes) -> Tagged:
    return Tagged(body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"')


def settled_answer(
    request: Request, shown: BaseModel | Tagged, headers: dict[str, str] | None = None
) -> Response:
    """A 200 with an `ETag` of the body, or a bodiless 304 when `If-None-Match` names it."""
    answer = shown if isinstance(shown, Tagged) else tagged(shown)
    with_tag = {**(headers or {}), "ETag": answer.etag}
    if matches(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=304, headers=with_tag)
    return Response(answer.body, 200, with_tag, media_type=JSON)


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison of `If-None-Match` (a list of tags, or `*`) with `etag`."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False
