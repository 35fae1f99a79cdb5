"""Per-key request rate limit: a token bucket per API key, with OpenAI's `x-ratelimit-*` headers.

Buckets live in the process, so with several server processes each enforces the limit on its
own share of the traffic.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from troupe.api.auth import bearer_token_of
from troupe.api.errors import error_response
from troupe.errors import TroupeError

LIMITED_PREFIXES = ("/v1/", "/sora/")
# Buckets of keys idle this long are full again and may be forgotten.
IDLE_SECONDS = 3600.0


@dataclass
class Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: float  # until the bucket is full again, or until the next token when empty

    def headers(self) -> dict[str, str]:
        headers = {
            "x-ratelimit-limit-requests": str(self.limit),
            "x-ratelimit-remaining-requests": str(self.remaining),
            "x-ratelimit-reset-requests": f"{self.reset_seconds:.3g}s",
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self.reset_seconds)))
        return headers


class RateLimiter:
    """`per_minute` requests a minute per key, in bursts of up to `per_minute`."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    @property
    def refill_per_second(self) -> float:
        return self.per_minute / 60.0

    def take(self, key: str) -> Verdict:
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key) or Bucket(float(self.per_minute), now)
            bucket.tokens = min(
                float(self.per_minute),
                bucket.tokens + (now - bucket.updated) * self.refill_per_second,
            )
            bucket.updated = now
            allowed = bucket.tokens >= 1.0
            if allowed:
                bucket.tokens -= 1.0
            self._buckets[key] = bucket
            self._forget_idle(now)
            return self._verdict(bucket, allowed)

    def _verdict(self, bucket: Bucket, allowed: bool) -> Verdict:
        missing = (1.0 - bucket.tokens) if not allowed else (self.per_minute - bucket.tokens)
        return Verdict(
            allowed=allowed,
            limit=self.per_minute,
            remaining=int(bucket.tokens),
            reset_seconds=max(0.0, missing / self.refill_per_second),
        )

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < 10_000:
            return
        idle = [key for key, b in self._buckets.items() if now - b.updated > IDLE_SECONDS]
        for key in idle:
            del self._buckets[key]


class RateLimitMiddleware:
    """API routes count against their key's bucket; over the limit answers 429.

    Plain ASGI: the verdict's headers are added to the answer's start as it passes."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        token = bearer_token_of(Headers(scope=scope).get("authorization", "")) or ""
        # Buckets are named by a digest, so keys never sit in memory longer than a request.
        verdict = self.limiter.take(hashlib.sha256(token.encode()).hexdigest())
        if not verdict.allowed:
            refusal = error_response(
                TroupeError(
                    "rate_limit_exceeded",
                    f"over {self.limiter.per_minute} requests a minute for this key; "
                    f"retry in {verdict.reset_seconds:.1f}s",
                ),
                headers=verdict.headers(),
            )
            await refusal(scope, receive, send)
            return
        added = [
            (name.lower().encode(), value.encode()) for name, value in verdict.headers().items()
        ]
        replaced = {name for name, _ in added}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    pair for pair in message.get("headers", []) if pair[0].lower() not in replaced
                ]
                message = {**message, "headers": [*kept, *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
