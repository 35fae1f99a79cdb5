"""Files with Range support whose refusals are OpenAI's error JSON, not Starlette's plain text."""

from __future__ import annotations

import os
from typing import Any

import anyio
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    MalformedRangeHeader,
    RangeNotSatisfiable,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.types import Receive, Scope, Send

from troupe.api.errors import error_response
from troupe.errors import TroupeError
from troupe.store.blobs import BlobStore
from troupe.store.objects import ObjectStore


class RangedFileResponse(FileResponse):
    """A FileResponse that answers a Range it cannot serve (`bytes=5-1`, a start past the end)
    with 416 `range_not_satisfiable` and `Content-Range: bytes */SIZE`.

    Starlette answers a malformed byte range with a text/plain 400 and an unsatisfiable one with
    a bodiless 416. A range in a unit other than bytes is ignored and the whole file sent, as
    RFC 9110 section 14.2 asks.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        http_range = headers.get("range")
        if http_range is None or scope["method"].upper() not in ("GET", "HEAD"):
            await super().__call__(scope, receive, send)
            return
        if http_range.split("=", 1)[0].strip().lower() != "bytes":
            without_range = [(k, v) for k, v in scope["headers"] if k.lower() != b"range"]
            await super().__call__({**scope, "headers": without_range}, receive, send)
            return
        if self.stat_result is None:
            self.stat_result = await anyio.to_thread.run_sync(os.stat, self.path)
            self.set_stat_headers(self.stat_result)
        size = self.stat_result.st_size
        if_range = headers.get("if-range")
        if self.status_code == 200 and (if_range is None or self._should_use_range(if_range)):
            try:
                self._parse_range_header(http_range, size)
            except (MalformedRangeHeader, RangeNotSatisfiable):
                await unsatisfiable(http_range, size)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def unsatisfiable(http_range: str, size: int) -> JSONResponse:
    message = (
        f"Range {http_range!r} cannot be served from a file of {size} bytes; "
        f"ask for bytes=START-END with START <= END < {size}"
    )
    return error_response(
        TroupeError("range_not_satisfiable", message),
        {"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
    )


def blob_response(
    request: Request,
    blobs: BlobStore,
    key: str,
    presign_seconds: int,
    missing: TroupeError,
    **file_args: Any,
) -> Response:
    """The blob's bytes, Range answered: from this machine's file, else streamed from the
    object store (`missing` when it is in neither); or, with `presign_seconds` and an object
    store, a redirect to a URL that reads it straight from the store for that long."""
    if presign_seconds:
        url = blobs.signed_url(key, presign_seconds)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    if blobs.remote is not None and not blobs.path(key).is_file():
        return _streamed(request, blobs.remote, key, missing, **file_args)
    try:
        path = blobs.local(key)
    except FileNotFoundError:
        raise missing from None
    return RangedFileResponse(path, **file_args)


def _streamed(
    request: Request,
    store: ObjectStore,
    key: str,
    missing: TroupeError,
    media_type: str,
    headers: dict[str, str] | None = None,
    filename: str | None = None,
    content_disposition_type: str = "attachment",
) -> Response:
    """The object passed through from the store as it arrives: one byte range when asked
    (several ranges get the whole object, as RFC 9110 allows), never the whole thing in memory."""
    info = store.head(key)
    if info is None:
        raise missing
    answer_headers = {"Accept-Ranges": "bytes", **(headers or {})}
    if filename:
        answer_headers["Content-Disposition"] = f'{content_disposition_type}; filename="{filename}"'
    start, end, status = 0, info.size, 200
    http_range = request.headers.get("range")
    if http_range and http_range.split("=", 1)[0].strip().lower() == "bytes" and info.size:
        try:
            ranges = FileResponse._parse_range_header(http_range, info.size)
        except (MalformedRangeHeader, RangeNotSatisfiable):
            return unsatisfiable(http_range, info.size)
        if len(ranges) == 1:
            (start, end), status = ranges[0], 206
            answer_headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    answer_headers["Content-Length"] = str(end - start)
    body = store.stream(key, start, end) if end > start else iter(())
    return StreamingResponse(
        body, status_code=status, media_type=media_type, headers=answer_headers
    )
