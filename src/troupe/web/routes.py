"""The browser UI's routes: the page at `/` and at each character's permalink, its files at `/ui/`.

The files ship inside the package (no build step, nothing fetched at run time); the page's
scripts call the JSON API from the browser. The one thing written on the server is a public
character's Open Graph tags, since link previewers read the HTML and run no scripts.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from troupe.api.auth import public_character
from troupe.api.schemas import CharacterObject, character_object
from troupe.api.services import base_url, services_of

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
HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
PAGE_TITLE = "<title>troupe</title>"
META_MARKER = "<!-- meta -->"
# What any page but a public character's says about itself: nothing about any character, so
# a private one's link previews exactly as an unknown one's.
GENERIC_META = {
    "og:site_name": "troupe",
    "og:type": "website",
    "og:title": "troupe",
    "og:description": "Character-consistent video: make a character from a clip, "
    "then cast it in videos by its @username.",
}


def _static_file(name: str) -> Response:
    """A file of the static folder by its plain name; anything else, a path included, is 404."""
    suffix = "." + name.rpartition(".")[2]
    resource = STATIC / name
    if "/" in name or "\\" in name or suffix not in MEDIA_TYPES or not resource.is_file():
        raise HTTPException(404, f"no UI file {name!r}")
    return Response(resource.read_bytes(), media_type=MEDIA_TYPES[suffix], headers=HEADERS)


def character_meta(character: CharacterObject) -> dict[str, str]:
    """Open Graph tags of a public character: its name, picture and permalink."""
    handle = f"@{character.username}"
    return {
        **GENERIC_META,
        "og:type": "profile",
        "og:title": f"{character.display_name} ({handle})",
        "og:description": f"{handle} on troupe: mention {handle} in a prompt to cast "
        f"{character.display_name} in a video.",
        "og:url": character.permalink,
        "og:image": character.profile_picture_url,
        "og:image:type": "image/jpeg",
        "og:image:alt": f"{character.display_name}, {handle}",
        "twitter:card": "summary",
    }


def page(title: str, meta: dict[str, str]) -> Response:
    """index.html with its title and meta tags filled in, every value HTML-escaped."""
    tags = "\n  ".join(
        f'<meta {"name" if key.startswith("twitter:") else "property"}="{escape(key)}" '
        f'content="{escape(value)}">'
        for key, value in meta.items()
    )
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    html = html.replace(PAGE_TITLE, f"<title>{escape(title)}</title>", 1)
    html = html.replace(META_MARKER, tags, 1)
    return Response(html, media_type=MEDIA_TYPES[".html"], headers=HEADERS)


@router.get("/")
def home_page() -> Response:
    return page("troupe", GENERIC_META)


@router.get("/characters/{username}")
def character_page(request: Request, username: str) -> Response:
    """A character's permalink: the same page, which reads the username from its address.

    A public character's name, picture and address are written into the page's meta tags
    for link previews; a private or unknown one gets the generic tags.
    """
    services = services_of(request)
    with services.db.transaction() as session:
        row = public_character(session, username)
        shown = character_object(row, base_url(request)) if row else None
    if shown is None:
        return page("troupe", GENERIC_META)
    return page(f"{shown.display_name} (@{shown.username}) · troupe", character_meta(shown))


@router.get("/ui/{name}")
def ui_file(name: str) -> Response:
    return _static_file(name)
