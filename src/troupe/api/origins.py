"""Writes from web pages of other sites are refused: a browser sends a page's cross-site form or
`fetch` with the visitor's network reach (a server on their machine or their network) and
without any key of theirs, which a keyless server would take as its local user's request."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from troupe.api.errors import error_response
from troupe.errors import TroupeError

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CORS_SETTING = "TROUPE_CORS_ORIGINS"


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` as a browser writes an `Origin` (lower case, no default port), or
    None for anything that is not an http(s) origin (`null`, from a sandboxed page or a file)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == (443 if scheme == "https" else 80):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def origins_of(urls: Iterable[str]) -> list[str]:
    """The origins of `urls` as browsers write them, each once (`TROUPE_CORS_ORIGINS` may be
    written `https://Studio.example/`)."""
    return sorted({origin for url in urls if (origin := origin_of(url))})


class SameOriginWritesMiddleware:
    """Answers 403 `origin_not_allowed` to a POST, PUT, PATCH or DELETE whose `Origin` is neither
    this server's own (the request's scheme and `Host`, or `public_url`'s) nor listed.

    A request without `Origin` (an SDK, curl) is not a page's and passes; so do reads, which a
    page of another site cannot see without CORS headers.
    """

    def __init__(self, app: ASGIApp, listed: Iterable[str], public_url: str) -> None:
        self.app = app
        self.trusted = set(origins_of([*listed, public_url]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or self._allows(origin, scope["scheme"], headers.get("host", "")):
            await self.app(scope, receive, send)
            return
        message = (
            f"a web page at {origin!r} may not make changes here; the server's operator may "
            f"allow that site by adding it to {CORS_SETTING}"
        )
        await error_response(TroupeError("origin_not_allowed", message))(scope, receive, send)

    def _allows(self, origin: str, scheme: str, host: str) -> bool:
        normalised = origin_of(origin)
        own = origin_of(f"{scheme}://{host}")
        return normalised is not None and (normalised == own or normalised in self.trusted)
