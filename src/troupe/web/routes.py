"""The browser UI's routes: the page at `/` and at each character's permalink, its files at `/ui/`.

The files ship inside the package (no build step, nothing fetched at run time); the page's
scripts call the JSON API from the browser, so these routes never read the database.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.exceptions import HTTPException

router = APIRouter(include_in_schema=False)

STATIC = files("troupe.web") / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The page runs only its own scripts and calls only its own server; media may come from
# anywhere, since a character's source URL is previewed from where it is hosted.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' blob: data: http: https:",
        "media-src 'self' blob: http: https:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _static_file(name: str) -> Response:
    """A file of the static folder by its plain name; anything else, a path included, is 404."""
    suffix = "." + name.rpartition(".")[2]
    resource = STATIC / name
    if "/" in name or "\\" in name or suffix not in MEDIA_TYPES or not resource.is_file():
        raise HTTPException(404, f"no UI file {name!r}")
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(resource.read_bytes(), media_type=MEDIA_TYPES[suffix], headers=headers)


@router.get("/")
def home_page() -> Response:
    return _static_file("index.html")


@router.get("/characters/{username}")
def character_page(username: str) -> Response:
    """A character's permalink: the same page, which reads the username from its address."""
    return _static_file("index.html")


@router.get("/ui/{name}")
def ui_file(name: str) -> Response:
    return _static_file(name)
