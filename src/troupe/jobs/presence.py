"""Which workers are alive and what they serve: each worker process writes a heartbeat row
(its kinds, back ends and running jobs), so any process (an API-only server included) can
tell operators who is working and tell a caller why a job still waits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from troupe.store.db import Database
from troupe.store.tables import WorkerPresence


@dataclass(frozen=True)
class Serves:
    """What a worker takes: job kinds, and the back ends of jobs that need one."""

    kinds: tuple[str, ...]
    backends: tuple[str, ...]

    def takes(self, kind: str, backend: str | None) -> bool:
        return kind in self.kinds and (backend is None or backend in self.backends)


@dataclass(frozen=True)
class Identity:
    """A worker process as it announces itself."""

    worker_id: str
    host: str
    pid: int
    serves: Serves
    threads: int
    started_at: float


@dataclass(frozen=True)
class WorkerSeen:
    id: str
    host: str
    serves: Serves
    threads: int
    running: int
    seen_at: float


# A killed worker's row is forgotten this long after its last heartbeat.
FORGET_AFTER_SECONDS = 24 * 3600.0


def beat(db: Database, identity: Identity, running: int) -> None:
    """Record that this worker is alive now, with what it serves and runs."""
    now = time.time()
    values = {
        "kinds": list(identity.serves.kinds),
        "backends": list(identity.serves.backends),
        "threads": identity.threads,
        "running": running,
        "seen_at": now,
    }
    with db.transaction() as session:
        session.execute(
            delete(WorkerPresence).where(WorkerPresence.seen_at < now - FORGET_AFTER_SECONDS)
        )
        found = session.execute(
            update(WorkerPresence).where(WorkerPresence.id == identity.worker_id).values(**values)
        ).rowcount  # type: ignore[attr-defined]
        if not found:
            session.add(
                WorkerPresence(
                    id=identity.worker_id,
                    host=identity.host,
                    pid=identity.pid,
                    started_at=identity.started_at,
                    **values,
                )
            )


def leave(db: Database, worker_id: str) -> None:
    with db.transaction() as session:
        session.execute(delete(WorkerPresence).where(WorkerPresence.id == worker_id))


def live_workers(db: Database, within_seconds: float) -> list[WorkerSeen]:
    """Workers whose last heartbeat is at most `within_seconds` old."""
    since = time.time() - within_seconds
    with db.transaction() as session:
        rows = session.scalars(
            select(WorkerPresence)
            .where(WorkerPresence.seen_at >= since)
            .order_by(WorkerPresence.id)
        ).all()
        return [
            WorkerSeen(
                id=row.id,
                host=row.host,
                serves=Serves(tuple(row.kinds), tuple(row.backends)),
                threads=row.threads,
                running=row.running,
                seen_at=row.seen_at,
            )
            for row in rows
        ]


def waiting_for(kind: str, backend: str | None, workers: Sequence[WorkerSeen]) -> str | None:
    """Why a queued job of `kind` (needing `backend`) cannot start, or None when some live
    worker would take it (it only waits its turn)."""
    if any(worker.serves.takes(kind, backend) for worker in workers):
        return None
    if backend is not None and any(kind in worker.serves.kinds for worker in workers):
        return (
            f"a worker with the {backend} back end: none is running (start one with "
            f"`troupe worker --backends {backend}`)"
        )
    return f"a worker for {kind} jobs: none is running (start `troupe serve` or `troupe worker`)"


@dataclass(frozen=True)
class Summary:
    """Live workers in counts (no ids or hosts): how many, serving what, running how much."""

    live: int
    threads: int
    running: int
    by_kind: dict[str, int]
    by_backend: dict[str, int]


def summarize(workers: Sequence[WorkerSeen]) -> Summary:
    by_kind: dict[str, int] = {}
    by_backend: dict[str, int] = {}
    for worker in workers:
        for kind in worker.serves.kinds:
            by_kind[kind] = by_kind.get(kind, 0) + 1
        for backend in worker.serves.backends:
            by_backend[backend] = by_backend.get(backend, 0) + 1
    return Summary(
        live=len(workers),
        threads=sum(worker.threads for worker in workers),
        running=sum(worker.running for worker in workers),
        by_kind=dict(sorted(by_kind.items())),
        by_backend=dict(sorted(by_backend.items())),
    )
