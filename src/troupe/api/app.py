"""The app factory: builds one server (database, blobs, worker, routes) from a Settings object."""

from __future__ import annotations

import fcntl
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO

from fastapi import FastAPI

from troupe import __version__
from troupe.api.auth import KeyCache
from troupe.api.body_limit import BodyLimitMiddleware
from troupe.api.errors import install_error_handlers
from troupe.api.idempotency import IdempotencyMiddleware
from troupe.api.limits import RateLimiter, RateLimitMiddleware
from troupe.api.metrics import Metrics, MetricsMiddleware
from troupe.api.responses import SettledCache
from troupe.api.routes import characters, files, health, tasks, usage, videos, windows
from troupe.api.services import Services
from troupe.billing.ledger import PriceList
from troupe.characters.job import CharacterExecutor
from troupe.characters.sources import SourceAccess
from troupe.jobs import queue
from troupe.jobs.admission import Admission
from troupe.jobs.webhooks import WebhookSender
from troupe.jobs.worker import Executor, JobObserver, Worker, WorkerConfig
from troupe.media.sandbox import start_sandbox
from troupe.render.registry import load_backends
from troupe.settings import Settings
from troupe.store import idempotency
from troupe.store.blobs import BlobStore
from troupe.store.db import Database, upgrade_database
from troupe.store.uploads import release_task_uploads, sweep_orphan_uploads
from troupe.videos.job import VideoExecutor
from troupe.videos.retention import RetentionSweeper
from troupe.web import routes as web

log = logging.getLogger(__name__)

# Multipart framing and form fields ride on top of the file itself.
BODY_OVERHEAD_BYTES = 64 * 1024
# With other processes on the same blobs, an upload younger than this may belong to a request
# still running there (a windows scan holds one for as long as decoding may take).
ORPHAN_UPLOAD_MIN_AGE_SECONDS = 3600.0


def build_services(settings: Settings, observe_jobs: JobObserver | None = None) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    blobs = BlobStore(settings.blob_dir)
    config = WorkerConfig(
        threads=settings.workers,
        lease_seconds=settings.job_lease_seconds,
        max_attempts=settings.job_max_attempts,
        webhook_events=bool(settings.webhook_url),
    )
    access = SourceAccess.from_settings(settings, blobs)
    backends = load_backends(settings)
    start_sandbox()  # its imports then overlap the server's start, not the first job
    # Each package brings the executor of its own kind of job; `jobs/` knows neither.
    executors: dict[str, Executor] = {
        "character": CharacterExecutor(db, access),
        "video": VideoExecutor(db, access, backends, settings.video_retention_seconds),
    }
    return Services(
        settings=settings,
        db=db,
        blobs=blobs,
        access=access,
        worker=Worker(
            db,
            executors,
            config,
            observe_jobs,
            on_settled=functools.partial(release_task_uploads, db, blobs),
        ),
        retention=RetentionSweeper(db, blobs, sweep_interval(settings.video_retention_seconds)),
        admission=Admission(
            prices=PriceList(settings.price_character, settings.price_per_second_by_model),
            max_concurrent_jobs=settings.max_concurrent_jobs,
        ),
    )


def sweep_interval(retention_seconds: int) -> float:
    """Expiry is checked a few times per retention period, and at least once a minute."""
    return min(60.0, max(0.5, retention_seconds / 4))


def take_data_dir_lock(settings: Settings) -> IO[str] | None:
    """Hold an exclusive lock on the data dir; None when another live process holds it."""
    handle = (settings.data_dir / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def recover_jobs(services: Services, lock: IO[str] | None) -> None:
    """Jobs left running by a dead process: take them back now when nobody else can own them.

    With a shared database (PostgreSQL, or another live process on this data dir) their
    leases run out instead and any worker claims them then.
    """
    if lock is not None and services.settings.is_embedded_database:
        released = queue.release_running_jobs(services.db)
        if released:
            log.warning("taking back %d job(s) left running by a stopped process", released)
        # Requests cut off by that process leave their Idempotency-Key claims behind.
        idempotency.release_all_claims(services.db)


def sweep_uploads(services: Services, lock: IO[str] | None) -> None:
    """Uploads left by a stopped process that no task or video needs go. Alone on the data dir,
    nothing else can be saving one; otherwise only those older than any request are swept."""
    alone = lock is not None and services.settings.is_embedded_database
    min_age = 0.0 if alone else ORPHAN_UPLOAD_MIN_AGE_SECONDS
    try:
        sweep_orphan_uploads(services.db, services.blobs, min_age)
    except OSError:
        log.exception("sweeping orphan uploads failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, metrics.job_finished)
        metrics.watch_store(services.db)
        lock = take_data_dir_lock(settings)
        recover_jobs(services, lock)
        sweep_uploads(services, lock)
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
            if lock is not None:
                lock.close()

    app = FastAPI(
        title="troupe",
        version=__version__,
        description="Character-consistent video: the Sora 2 Character API, self-hosted.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(IdempotencyMiddleware, settings.max_upload_bytes + BODY_OVERHEAD_BYTES)
    app.add_middleware(BodyLimitMiddleware, settings.max_upload_bytes + BODY_OVERHEAD_BYTES)
    if settings.rate_limit_per_minute:
        app.add_middleware(RateLimitMiddleware, RateLimiter(settings.rate_limit_per_minute))
    # Outermost, so every answer counts, refusals by the limits above included.
    app.add_middleware(MetricsMiddleware, metrics)
    app.state.metrics = metrics
    app.state.key_cache = KeyCache()
    app.state.settled_cache = SettledCache()
    for module in (windows, characters, videos, tasks, usage, files, health, web):
        app.include_router(module.router)
    return app
