"""The API's reference pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), with their scripts and
styles served by this server from the fastapi-offline package: FastAPI's own pages load them from
a CDN, and so are blank on a machine without internet."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

router = APIRouter(include_in_schema=False)

ASSETS_URL = "/docs/assets"
# The files that the pages load, and nothing else of the package's folder.
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
# The files change only with the installed package, so a browser may keep them a day.
ASSET_HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}


def _root(request: Request) -> str:
    """The path prefix the server is mounted under (uvicorn's --root-path), or ""."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _openapi_url(request: Request) -> str:
    return _root(request) + (request.app.openapi_url or "/openapi.json")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    assets = _root(request) + ASSETS_URL
    return get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters=request.app.swagger_ui_parameters,
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    assets = _root(request) + ASSETS_URL
    return get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{assets}/redoc.standalone.js",
        redoc_favicon_url=f"{assets}/favicon.png",
        with_google_fonts=False,
    )


@router.get(ASSETS_URL + "/{name}")
def asset(name: str) -> Response:
    if name not in ASSET_TYPES:
        raise HTTPException(404, f"no docs file {name!r}")
    content = (files("fastapi_offline") / "static" / name).read_bytes()
    return Response(content, media_type=ASSET_TYPES[name], headers=ASSET_HEADERS)
