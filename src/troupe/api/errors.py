"""Every failure leaves as OpenAI's error JSON: `{"error": {message, type, param, code}}`."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from troupe.api.forms import NO_BOUNDARY, lacks_boundary, unsupported_media_type
from troupe.errors import TroupeError

log = logging.getLogger(__name__)


def error_response(error: TroupeError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error.to_body(), status_code=error.status, headers={**error.headers, **(headers or {})}
    )


async def _troupe_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TroupeError)
    return error_response(error)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    if isinstance(first.get("input"), bytes):
        # FastAPI parses a body as JSON only when its Content-Type says JSON, and hands the
        # model the raw bytes otherwise: the type, not the JSON, is what is wrong.
        content_type = request.headers.get("content-type")
        return error_response(unsupported_media_type(content_type, "JSON (application/json)"))
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    param = ".".join(location) or None
    message = first.get("msg", "invalid request")
    if first.get("type") == "json_invalid":
        message = "the request body is not valid JSON"
    elif param:
        message = f"{param}: {message}"
    return error_response(TroupeError("invalid_request", message, param=param))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    # Unknown routes and methods keep their HTTP status; the code says the request was at fault.
    message = str(error.detail)
    if error.status_code == 400 and lacks_boundary(request.headers.get("content-type", "")):
        message = NO_BOUNDARY  # the form parser's own words do not say what to change
    body = TroupeError("invalid_request", message).to_body()
    headers = dict(error.headers or {})
    if error.status_code == 405 and (documented := _documented_methods(request)):
        headers["Allow"] = documented
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def _documented_methods(request: Request) -> str | None:
    """The methods that the API document gives the most specific path matching this one.

    Starlette's own 405 names only the first route whose path matched, so `OPTIONS
    /v1/characters` said `Allow: POST` though GET is served there too. A literal path wins over
    a template, as in the document: `/v1/videos/edits` is POST only, not `{video_id}`'s GET.
    None for a path the document leaves out, whose only route Starlette names well enough.
    """
    best: tuple[int, dict[str, Any]] | None = None
    for template, operations in request.app.openapi()["paths"].items():
        templated = template.count("{")
        if _template_pattern(template).fullmatch(request.url.path) and (
            best is None or templated < best[0]
        ):
            best = (templated, operations)
    return None if best is None else ", ".join(method.upper() for method in best[1])


@functools.cache
def _template_pattern(template: str) -> re.Pattern[str]:
    literal_parts = re.split(r"\{[^}]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in literal_parts))


async def _unstorable_value(request: Request, error: Exception) -> JSONResponse:
    """The database refused a value of the request (PostgreSQL stores no NUL character in text):
    the client's to fix, yet logged, in case a value of troupe's own was at fault."""
    assert isinstance(error, DataError)
    log.warning(
        "database refused a value on %s %s: %s", request.method, request.url.path, error.orig
    )
    return error_response(
        TroupeError(
            "invalid_request",
            "the request holds a value that cannot be stored, such as text with a NUL character",
        )
    )


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    # Starlette raises the error again once this answer is sent, and uvicorn then closes the
    # connection: a keep-alive client told so opens a new one instead of losing its next request.
    return error_response(
        TroupeError("internal_error", "the server failed; it has been logged"),
        {"Connection": "close"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TroupeError, _troupe_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(Exception, _unexpected_error)
