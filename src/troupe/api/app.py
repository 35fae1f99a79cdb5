"""The app factory: one API server (its routes, middleware and, unless it answers the API only,
its worker) from a Settings object."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from troupe import __version__
from troupe.api.auth import KeyCache
from troupe.api.body_limit import BodyLimitMiddleware
from troupe.api.character_json import CharacterJson
from troupe.api.errors import install_error_handlers
from troupe.api.idempotency import IdempotencyMiddleware
from troupe.api.limits import RateLimiter, RateLimitMiddleware
from troupe.api.metrics import Metrics, MetricsMiddleware
from troupe.api.origins import SameOriginWritesMiddleware, origins_of
from troupe.api.responses import SettledCache
from troupe.api.routes import (
    characters,
    docs,
    files,
    health,
    reviews,
    tasks,
    usage,
    videos,
    windows,
)
from troupe.api.schemas import referenced_schemas
from troupe.jobs.webhooks import WebhookSender
from troupe.runtime import build_services, start_process
from troupe.settings import Settings
from troupe.web import routes as web

log = logging.getLogger(__name__)

# Multipart framing and form fields ride on top of the file itself.
BODY_OVERHEAD_BYTES = 64 * 1024
# Answer headers that clients act on, readable by the pages of TROUPE_CORS_ORIGINS too.
EXPOSED_HEADERS = [
    "openai-poll-after-ms",
    "retry-after",
    "idempotent-replayed",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, metrics.job_finished)
        metrics.watch_store(services.db, settings.job_lease_seconds)
        lock = start_process(services)
        app.state.services = services
        webhooks = (
            WebhookSender.from_settings(services.db, settings) if settings.webhook_url else None
        )
        services.worker.start()
        services.retention.start()
        if webhooks is not None:
            webhooks.start()
        try:
            yield
        finally:
            if webhooks is not None:
                webhooks.stop()
            services.retention.stop()
            services.worker.stop(settings.job_shutdown_grace_seconds)
            services.db.dispose()
            lock.close()

    app = FastAPI(
        title="troupe",
        version=__version__,
        description="Character-consistent video: the Sora 2 Character API, self-hosted.",
        lifespan=lifespan,
        # FastAPI's pages load Swagger UI and ReDoc from a CDN; routes/docs.py serves them here.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(IdempotencyMiddleware, settings.max_upload_bytes + BODY_OVERHEAD_BYTES)
    app.add_middleware(BodyLimitMiddleware, settings.max_upload_bytes + BODY_OVERHEAD_BYTES)
    if settings.rate_limit_per_minute:
        app.add_middleware(RateLimitMiddleware, RateLimiter(settings.rate_limit_per_minute))
    app.add_middleware(SameOriginWritesMiddleware, settings.cors_origins, settings.public_url)
    if settings.cors_origins:
        # The listed sites' pages may also read the answers, and send JSON (which a browser
        # asks about first, in a preflight OPTIONS request answered here).
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins_of(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )
    # Outermost, so every answer counts, refusals by the limits above included.
    app.add_middleware(MetricsMiddleware, metrics)
    app.state.metrics = metrics
    app.state.key_cache = KeyCache()
    app.state.settled_cache = SettledCache()
    app.state.character_json = CharacterJson()
    for module in (windows, characters, videos, tasks, reviews, usage, files, health, docs, web):
        app.include_router(module.router)
    document_answers(app)
    return app


def document_answers(app: FastAPI) -> None:
    """Add the schemas that routes' answers refer to (schemas.answers_by_reference) to the OpenAPI
    document, when it is first built."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = build().setdefault("components", {}).setdefault("schemas", {})
            schemas.update(referenced_schemas())
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


# What importing the API made (the classes of FastAPI, SQLAlchemy and pydantic, the routes and their
# validators: some 90,000 objects) lives as long as the process. Frozen, no collection walks them
# again: shorter pauses while serving, and an interpreter that exits a tenth of a second sooner.
gc.freeze()
