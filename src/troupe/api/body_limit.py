"""The request body's byte limit, counted as the body streams in: a declared length over it is
refused before a byte is read, and a body without one (`Transfer-Encoding: chunked`) is cut off
where it passes the limit, so no route ever holds more of it than the limit."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from troupe.api.errors import error_response
from troupe.errors import TroupeError


class BodyTooLarge(TroupeError):
    """Raised from `receive` to whatever reads past the limit; the answer is then a 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            "file_too_large", f"the request body is over the limit of {max_bytes} bytes"
        )


class BodyLimitMiddleware:
    """Counts the bytes of every request body and answers 413 `file_too_large` past `max_bytes`.

    The route that was reading the body fails on the way (a JSON or form parser answers 400,
    say); that answer is dropped and the 413 sent instead, with `Connection: close`, since the
    rest of the body is never read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            message = f"the request body is {declared} bytes; the limit is {self.max_bytes}"
            await refusal(TroupeError("file_too_large", message))(scope, receive, send)
            return
        body = CountedBody(receive, self.max_bytes)
        answer = HeldAnswer(send, body)
        try:
            await self.app(scope, body.receive, answer.send)
        except Exception:
            if not body.exceeded or answer.started:
                raise
        if body.exceeded and not answer.started:
            await refusal(BodyTooLarge(self.max_bytes))(scope, receive, send)


def refusal(error: TroupeError) -> JSONResponse:
    # The rest of the body stays unread, so this connection cannot carry another request.
    return error_response(error, {"Connection": "close"})


@dataclass
class CountedBody:
    """The app's `receive`: passes the body on while it stays within the limit."""

    upstream: Receive
    max_bytes: int
    size: int = 0
    exceeded: bool = False

    async def receive(self) -> Message:
        if self.exceeded:
            raise BodyTooLarge(self.max_bytes)
        message = await self.upstream()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.max_bytes:
                self.exceeded = True
                raise BodyTooLarge(self.max_bytes)
        return message


@dataclass
class HeldAnswer:
    """The app's `send`: its answer goes out unless the body ran over the limit before it began
    (the app then answers for a body it never saw whole; the 413 is sent instead)."""

    downstream: Send
    body: CountedBody
    started: bool = False

    async def send(self, message: Message) -> None:
        if self.body.exceeded and not self.started:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self.downstream(message)
