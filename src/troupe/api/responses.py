"""JSON answers serialised once by pydantic, and the `ETag` / `304 Not Modified` of objects that
no longer change (a completed video or task, a character), so a polling client gets no body."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from pydantic import BaseModel

JSON = "application/json"


def json_answer(
    shown: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """The wire model as JSON, without FastAPI validating it again against `response_model`."""
    return Response(shown.model_dump_json(), status_code, headers, media_type=JSON)


def settled_answer(
    request: Request, shown: BaseModel, headers: dict[str, str] | None = None
) -> Response:
    """A 200 with an `ETag` of the body, or a bodiless 304 when `If-None-Match` names it.

    The tag is a digest of the very bytes sent, so whatever changes them (a video's files
    expiring, a character made public, another Host in its URLs) changes the tag as well."""
    body = shown.model_dump_json().encode()
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    tagged = {**(headers or {}), "ETag": etag}
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=tagged)
    return Response(body, 200, tagged, media_type=JSON)


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison of `If-None-Match` (a list of tags, or `*`) with `etag`."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False
