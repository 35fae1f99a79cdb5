"""Operations routes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from troupe import __version__
from troupe.api.services import services_of

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> dict[str, str]:
    with services_of(request).db.transaction() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text; counts only, no ids, so it needs no key (like /healthz)."""
    return request.app.state.metrics.exposition(  # type: ignore[no-any-return]
        request.headers.get("accept", "")
    )
