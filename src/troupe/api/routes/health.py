"""Operations routes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from troupe import __version__
from troupe.api.services import services_of
from troupe.jobs import presence

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> dict[str, Any]:
    """Ready when the database answers; with the workers seen recently, in counts only (no
    ids or hosts), so it needs no key: an API-only server is ready with none."""
    services = services_of(request)
    with services.db.transaction() as session:
        session.execute(text("SELECT 1"))
    workers = presence.live_workers(services.db, services.settings.job_lease_seconds)
    return {"status": "ready", "workers": asdict(presence.summarize(workers))}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text; counts only, no ids, so it needs no key (like /healthz)."""
    return request.app.state.metrics.exposition(  # type: ignore[no-any-return]
        request.headers.get("accept", "")
    )
