"""One troupe process's working parts, built from settings: the database, blobs, the back ends
this process runs, and its worker; shared by `troupe serve` (the API, with or without a worker)
and `troupe worker` (jobs only)."""

from __future__ import annotations

import fcntl
import functools
import logging
from dataclasses import dataclass
from typing import IO

from troupe.api.services import Services
from troupe.billing.ledger import PriceList
from troupe.characters.doubts import LikenessPolicy
from troupe.characters.job import CharacterExecutor
from troupe.characters.review import ReviewDesk
from troupe.characters.sources import SourceAccess
from troupe.jobs import queue
from troupe.jobs.admission import Admission
from troupe.jobs.worker import Executor, JobObserver, Lane, Worker, WorkerConfig
from troupe.render.backend import Backend
from troupe.render.registry import load_backends
from troupe.settings import Settings
from troupe.store import idempotency
from troupe.store.blobs import BlobStore
from troupe.store.db import Database, upgrade_database
from troupe.store.objects import ObjectStore
from troupe.store.uploads import release_task_uploads, sweep_orphan_uploads
from troupe.videos.job import VideoExecutor
from troupe.videos.retention import RetentionSweeper

log = logging.getLogger(__name__)

KINDS = ("character", "video")


@dataclass(frozen=True)
class Role:
    """What this process's worker runs: job kinds, and the back ends it loads for videos.
    No kinds: the process answers the API only."""

    kinds: tuple[str, ...]
    backends: tuple[str, ...]


def plan_role(settings: Settings) -> Role:
    """The role the settings ask for (`TROUPE_WORKERS`, `TROUPE_WORKER_KINDS`,
    `TROUPE_WORKER_BACKENDS`); ValueError names a setting that cannot work."""
    if settings.workers <= 0:
        return Role(kinds=(), backends=())
    unknown_kinds = sorted(set(settings.worker_kinds) - set(KINDS))
    if unknown_kinds:
        raise ValueError(
            f"TROUPE_WORKER_KINDS names unknown job kinds {unknown_kinds}; known: {list(KINDS)}"
        )
    kinds = tuple(kind for kind in KINDS if kind in (settings.worker_kinds or KINDS))
    routed = set(settings.backend_by_model.values())
    unrouted = sorted(set(settings.worker_backends) - routed)
    if unrouted:
        raise ValueError(
            f"TROUPE_WORKER_BACKENDS names {unrouted}, which no model routes to "
            f"(TROUPE_MODEL_BACKENDS routes to {sorted(routed)})"
        )
    backends = sorted(set(settings.worker_backends) or routed) if "video" in kinds else []
    return Role(kinds=kinds, backends=tuple(backends))


def plan_lanes(settings: Settings, role: Role) -> tuple[Lane, ...]:
    """A worker that runs characters and renders keeps `TROUPE_CHARACTER_WORKERS` threads for
    characters alone, so that a character, seconds of work that a synchronous request may be
    waiting for, never waits for renders, minutes each, to free a thread."""
    if "character" in role.kinds and len(role.kinds) > 1 and settings.character_workers > 0:
        return (Lane(("character",), settings.character_workers),)
    return ()


# With other processes on the same blobs, an upload younger than this may belong to a request
# still running there (a windows scan holds one for as long as decoding may take).
ORPHAN_UPLOAD_MIN_AGE_SECONDS = 3600.0
# A scratch folder locks itself a moment after it is made; one changed more recently than this
# may be another process's, not yet locked.
SCRATCH_MIN_AGE_SECONDS = 60.0


def build_services(settings: Settings, observe_jobs: JobObserver | None = None) -> Services:
    role = plan_role(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    blobs = open_blobs(settings)
    access = SourceAccess.from_settings(settings, blobs)
    backends = load_backends(settings, role.backends)
    reviews = ReviewDesk(db, blobs, webhook_events=bool(settings.webhook_url))
    config = WorkerConfig(
        threads=settings.workers if role.kinds else 0,
        lease_seconds=settings.job_lease_seconds,
        max_attempts=settings.job_max_attempts,
        webhook_events=bool(settings.webhook_url),
        backends=role.backends,
        lanes=plan_lanes(settings, role),
    )
    return Services(
        settings=settings,
        db=db,
        blobs=blobs,
        access=access,
        worker=Worker(
            db,
            _executors(role, db, access, backends, settings),
            config,
            observe_jobs,
            on_settled=functools.partial(release_task_uploads, db, blobs),
        ),
        retention=RetentionSweeper(
            db,
            blobs,
            sweep_interval(settings),
            sweeps=[("reviews expired", reviews.expire_due)],
        ),
        admission=Admission(
            prices=PriceList(settings.price_character, settings.price_per_second_by_model),
            max_concurrent_jobs=settings.max_concurrent_jobs,
        ),
        reviews=reviews,
    )


def _executors(
    role: Role,
    db: Database,
    access: SourceAccess,
    backends: dict[str, Backend],
    settings: Settings,
) -> dict[str, Executor]:
    """Each package brings the executor of its own kind of job; `jobs/` knows neither."""
    executors: dict[str, Executor] = {}
    if "character" in role.kinds:
        policy = LikenessPolicy(settings.likeness_review, settings.likeness_review_hours)
        executors["character"] = CharacterExecutor(db, access, policy)
    if "video" in role.kinds:
        executors["video"] = VideoExecutor(
            db, access, backends, settings.video_retention_seconds, settings.likeness_review
        )
    return executors


def open_blobs(settings: Settings) -> BlobStore:
    """The local blob folder, with the object store of `TROUPE_BLOB_URL` behind it if set."""
    remote = None
    if settings.blob_url:
        remote = ObjectStore(settings.blob_url, settings.blob_endpoint, settings.blob_region)
    return BlobStore(settings.blob_dir, remote)


def sweep_interval(settings: Settings) -> float:
    """Expiry (of videos, and of reviews nobody decided) is checked a few times per period, and
    at least once a minute."""
    shortest = min(settings.video_retention_seconds, settings.likeness_review_hours * 3600)
    return min(60.0, max(0.5, shortest / 4))


class DataDirLock:
    """Every troupe process on a data dir holds a shared lock on it for its whole life; a
    process that finds none held (`alone`) took it exclusively first, so it may recover what a
    stopped process left, before it shares (`start_sharing`) and lets others start."""

    def __init__(self, settings: Settings) -> None:
        self.handle: IO[str] = (settings.data_dir / ".lock").open("w")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.alone = True
        except BlockingIOError:
            fcntl.flock(self.handle, fcntl.LOCK_SH)
            self.alone = False

    def start_sharing(self) -> None:
        if self.alone:
            fcntl.flock(self.handle, fcntl.LOCK_SH)

    def close(self) -> None:
        self.handle.close()


def start_process(services: Services) -> DataDirLock:
    """Join the data dir; alone on it, first take back what a stopped process left behind."""
    lock = DataDirLock(services.settings)
    recover_jobs(services, lock.alone)
    sweep_uploads(services, lock.alone)
    sweep_scratch(services, lock.alone)
    lock.start_sharing()
    return lock


def recover_jobs(services: Services, alone: bool) -> None:
    """Jobs left running by a dead process: take them back now when nobody else can own them.

    With a shared database (PostgreSQL, or another live process on this data dir) their
    leases run out instead and any worker claims them then.
    """
    if alone and services.settings.is_embedded_database:
        released = queue.release_running_jobs(services.db)
        if released:
            log.warning("taking back %d job(s) left running by a stopped process", released)
        # Requests cut off by that process leave their Idempotency-Key claims behind.
        idempotency.release_all_claims(services.db)


def sweep_uploads(services: Services, alone_on_data_dir: bool) -> None:
    """Uploads left by a stopped process that no task or video needs go. Alone on the data dir,
    nothing else can be saving one; otherwise only those older than any request are swept."""
    # Blobs in an object store are every machine's: another one may be saving an upload.
    alone = (
        alone_on_data_dir
        and services.settings.is_embedded_database
        and not services.blobs.is_shared
    )
    min_age = 0.0 if alone else ORPHAN_UPLOAD_MIN_AGE_SECONDS
    try:
        sweep_orphan_uploads(services.db, services.blobs, min_age)
    except OSError:
        log.exception("sweeping orphan uploads failed")


def sweep_scratch(services: Services, alone_on_data_dir: bool) -> None:
    """Scratch folders (partial downloads and renders) of a stopped process go: those that no
    live process holds; alone on the data dir, even one made a moment ago."""
    min_age = 0.0 if alone_on_data_dir else SCRATCH_MIN_AGE_SECONDS
    try:
        removed = services.blobs.sweep_scratch(min_age)
    except OSError:
        log.exception("sweeping scratch folders failed")
        return
    if removed:
        log.info("removed %d scratch folder(s) left by a stopped process", removed)
