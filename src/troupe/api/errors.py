"""Every failure leaves as OpenAI's error JSON: `{"error": {message, type, param, code}}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from troupe.errors import TroupeError

log = logging.getLogger(__name__)


def error_response(error: TroupeError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error.to_body(), status_code=error.status, headers={**error.headers, **(headers or {})}
    )


async def _troupe_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TroupeError)
    return error_response(error)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    param = ".".join(location) or None
    message = first.get("msg", "invalid request")
    if first.get("type") == "json_invalid":
        message = "the request body is not valid JSON"
    elif param:
        message = f"{param}: {message}"
    return error_response(TroupeError("invalid_request", message, param=param))


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    # Unknown routes and methods keep their HTTP status; the code says the request was at fault.
    body = TroupeError("invalid_request", str(error.detail)).to_body()
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(TroupeError("internal_error", "the server failed; it has been logged"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TroupeError, _troupe_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
