"""The objects one server instance is built from, kept on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from troupe.characters.review import ReviewDesk
from troupe.characters.sources import SourceAccess
from troupe.jobs import presence
from troupe.jobs.admission import Admission
from troupe.jobs.worker import Worker
from troupe.settings import Settings
from troupe.store.blobs import BlobStore
from troupe.store.db import Database
from troupe.videos.retention import RetentionSweeper


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    access: SourceAccess
    worker: Worker
    retention: RetentionSweeper
    admission: Admission
    reviews: ReviewDesk


def waiting_note(services: Services, kind: str, backend: str | None) -> str | None:
    """Why a queued job of `kind` (needing `backend`) cannot start: no live worker serves it.
    None when one does (the job only waits its turn)."""
    workers = presence.live_workers(services.db, services.settings.job_lease_seconds)
    return presence.waiting_for(kind, backend, workers)


def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def base_url(request: Request) -> str:
    """Where clients reach this server: the configured public URL, else the request's own."""
    configured = services_of(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")
