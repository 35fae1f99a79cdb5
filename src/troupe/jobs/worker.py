"""The in-process worker: threads that claim jobs, run their executor, and settle them."""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import make_url
from sqlalchemy.orm import Session

from troupe.errors import TroupeError
from troupe.ids import new_id
from troupe.jobs import parking, presence, queue
from troupe.jobs.parking import Parked
from troupe.jobs.queue import ClaimedJob
from troupe.jobs.wakeup import CommitWatcher, JobListener
from troupe.store import repo
from troupe.store.db import Database

log = logging.getLogger(__name__)

ProgressFn = Callable[[int], None]
Apply = Callable[[Session], None]
# An executor does the slow work outside any transaction and returns what to write on success,
# or `Parked` when the outcome waits for a person's decision.
Executor = Callable[[ClaimedJob, ProgressFn], Apply | Parked]
# Told of every job this worker ran: its kind, outcome (`completed`, an error code, `parked`, or
# `lost` when another worker had taken it over) and seconds from claim to settlement.
JobObserver = Callable[[str, str, float], None]
# Told the task id of every job settled here for good (completed, failed or given up), once its
# outcome is written: what only that job read (an uploaded source) can go then.
SettledHook = Callable[[str], object]


def _job_signal(
    db: Database, wake: Callable[[], None], interval: float
) -> JobListener | CommitWatcher:
    """What wakes idle threads when another process may have queued a job: PostgreSQL's
    notifications, or a watch on SQLite's commits."""
    if db.is_postgresql:
        return JobListener(db.url, wake)
    return CommitWatcher(make_url(db.url).database or "", wake, interval)


@dataclass(frozen=True)
class Lane:
    """Threads beside a worker's own that take only some kinds of job: those jobs always find
    a thread, however long the jobs on the worker's other threads run."""

    kinds: tuple[str, ...]
    threads: int


@dataclass(frozen=True)
class WorkerConfig:
    threads: int
    lease_seconds: float
    max_attempts: int
    # How often, on SQLite, a worker looks for commits that may have queued a job elsewhere.
    idle_poll_seconds: float = 0.5
    # Write a webhook event to the outbox with every outcome (only when webhooks are configured).
    webhook_events: bool = False
    # The back ends this worker can run: it claims only jobs that need none or one of these.
    backends: tuple[str, ...] = ()
    # Threads kept for some kinds alone, besides `threads` (only for a worker with threads).
    lanes: tuple[Lane, ...] = ()


class Worker:
    """Runs jobs from the database on a few threads and keeps their leases alive."""

    def __init__(
        self,
        db: Database,
        executors: dict[str, Executor],
        config: WorkerConfig,
        observe: JobObserver | None = None,
        on_settled: SettledHook | None = None,
    ) -> None:
        self.db = db
        self.executors = executors
        self.config = config
        self.observe = observe
        self.on_settled = on_settled
        host, pid = socket.gethostname(), os.getpid()
        self.worker_id = f"{host}:{pid}:{new_id('w')[-6:]}"
        serves = presence.Serves(tuple(sorted(executors)), config.backends)
        self.lanes = _lanes(serves, config) if config.threads > 0 else []
        self.identity = presence.Identity(
            worker_id=self.worker_id,
            host=host,
            pid=pid,
            serves=serves,
            threads=config.threads + sum(threads for _, threads in self.lanes),
            started_at=time.time(),
        )
        # Counts the signals that a job may be claimable (and the stop). A thread notes the
        # count before it claims and, finding nothing, sleeps until the count moves: a signal
        # that comes while it claims is not lost, as one cleared from a shared event was.
        self._signals = 0
        self._signalled = threading.Condition()
        self._stopping = threading.Event()
        self._settled = threading.Condition()
        self._held: set[int] = set()
        self._held_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._listener = _job_signal(db, self.notify_new_job, config.idle_poll_seconds)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Announce this worker and start its threads; with no threads (an API-only server)
        there is nothing to run and nothing is announced."""
        if self.config.threads <= 0:
            return
        self._beat()
        self._listener.start()
        for index in range(self.config.threads):
            self._spawn(
                functools.partial(self._run_loop, self.identity.serves), f"troupe-worker-{index}"
            )
        for serves, threads in self.lanes:
            for index in range(threads):
                name = f"troupe-worker-{'-'.join(serves.kinds)}-{index}"
                self._spawn(functools.partial(self._run_loop, serves), name)
        self._spawn(self._heartbeat_loop, "troupe-heartbeat")

    def stop(self, grace_seconds: float) -> None:
        """Claim nothing more, give running jobs `grace_seconds` to finish, then hand the rest
        back to the queue, so another worker (or this server's next start) runs them at once."""
        self._stopping.set()
        self.notify_new_job()
        if self._threads:
            self._listener.stop()
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._held_lock:
            unfinished = list(self._held)
        if unfinished:
            handed = queue.hand_back(self.db, self.worker_id, unfinished)
            log.warning("handed %d unfinished job(s) back to the queue", handed)
        if self._threads:
            presence.leave(self.db, self.worker_id)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- signalling -----------------------------------------------------------------------

    def notify_new_job(self) -> None:
        with self._signalled:
            self._signals += 1
            self._signalled.notify_all()

    def wait_settled(self, timeout: float) -> None:
        """Sleep until some job settles here (or the timeout passes); callers re-read the DB."""
        with self._settled:
            self._settled.wait(timeout)

    # --- loops ----------------------------------------------------------------------------

    def _run_loop(self, serves: presence.Serves) -> None:
        while not self._stopping.is_set():
            seen = self._signals
            try:
                job = queue.claim_next(
                    self.db,
                    self.worker_id,
                    self.config.lease_seconds,
                    self.config.max_attempts,
                    serves=serves,
                    webhook_events=self.config.webhook_events,
                    given_up=self._after_settled,
                )
            except Exception:
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._sleep(seen, self._idle_seconds())
                continue
            self._run_one(job)

    def _sleep(self, seen: int, timeout: float) -> None:
        """Until a signal after the count `seen`, or `timeout` seconds."""
        with self._signalled:
            self._signalled.wait_for(lambda: self._signals != seen, timeout)

    def _idle_seconds(self) -> float:
        """How long an idle thread sleeps unless woken: until the next lease runs out (a dead
        worker's job, which no commit or notification announces)."""
        try:
            expiry = queue.next_lease_expiry(self.db)
        except Exception:
            log.exception("reading the next lease expiry failed")
            return self.config.idle_poll_seconds
        if expiry is None:
            return self.config.lease_seconds
        return min(self.config.lease_seconds, max(0.05, expiry - time.time() + 0.05))

    def _heartbeat_loop(self) -> None:
        interval = self.config.lease_seconds / 3
        while not self._stopping.wait(interval):
            with self._held_lock:
                held = list(self._held)
            try:
                queue.renew_leases(self.db, self.worker_id, held, self.config.lease_seconds)
            except Exception:
                log.exception("renewing leases failed")
            self._beat()

    def _beat(self) -> None:
        with self._held_lock:
            running = len(self._held)
        try:
            presence.beat(self.db, self.identity, running)
        except Exception:
            log.exception("recording this worker's heartbeat failed")

    def _run_one(self, job: ClaimedJob) -> None:
        with self._held_lock:
            self._held.add(job.id)
        started = time.monotonic()
        try:
            result, error = self._execute(job)
            if isinstance(result, Parked):
                outcome = self._park(job, result)
            else:
                outcome = self._settle(job, result, error)
            if self.observe is not None:
                self.observe(job.kind, outcome, time.monotonic() - started)
            if outcome not in ("lost", "parked"):  # a job taken over still needs its files
                self._after_settled(job.task_id)
        finally:
            with self._held_lock:
                self._held.discard(job.id)
            with self._settled:
                self._settled.notify_all()

    def _execute(self, job: ClaimedJob) -> tuple[Apply | Parked | None, TroupeError | None]:
        executor = self.executors.get(job.kind)
        if executor is None:
            return None, TroupeError("internal_error", f"no executor for job kind {job.kind!r}")
        try:
            return executor(job, lambda percent: self._report_progress(job, percent)), None
        except TroupeError as error:
            return None, error
        except Exception:
            log.exception("job %s (task %s) crashed", job.id, job.task_id)
            return None, TroupeError("internal_error", "the job failed unexpectedly")

    def _park(self, job: ClaimedJob, parked: Parked) -> str:
        """Park the job until a decision; answers `parked`, or `lost` (or the error of a
        failure to park, which fails the job)."""
        events = self.config.webhook_events
        try:
            owned = parking.park(self.db, job, parked, webhook_events=events)
        except Exception:
            log.exception("parking job %s (task %s) failed", job.id, job.task_id)
            failure = TroupeError("internal_error", "saving the result failed")
            return self._settle(job, None, failure)
        return "parked" if owned else "lost"

    def _settle(self, job: ClaimedJob, apply: Apply | None, error: TroupeError | None) -> str:
        """Write the job's outcome; answers `completed`, the error code, or `lost`."""
        events = self.config.webhook_events
        try:
            owned = queue.settle(self.db, job, apply, error, webhook_events=events)
        except TroupeError as late_error:
            # The result could not be written (a username taken meanwhile, say): fail cleanly.
            error = late_error
            owned = queue.settle(self.db, job, None, late_error, webhook_events=events)
        except Exception:
            log.exception("settling job %s (task %s) failed", job.id, job.task_id)
            error = TroupeError("internal_error", "saving the result failed")
            owned = queue.settle(self.db, job, None, error, webhook_events=events)
        if not owned:
            return "lost"
        if error is not None:
            return error.code
        return "completed" if apply is not None else "internal_error"

    def _after_settled(self, task_id: str) -> None:
        if self.on_settled is None:
            return
        try:
            self.on_settled(task_id)
        except Exception:
            log.exception("cleaning up after task %s failed", task_id)

    def _report_progress(self, job: ClaimedJob, percent: int) -> None:
        with self.db.transaction() as session:
            repo.set_task_progress(session, job.task_id, max(0, min(99, percent)))


def _lanes(serves: presence.Serves, config: WorkerConfig) -> list[tuple[presence.Serves, int]]:
    """What each lane's threads take: its kinds that this worker runs (a lane of none of them
    has no threads)."""
    lanes = []
    for lane in config.lanes:
        kinds = tuple(kind for kind in serves.kinds if kind in lane.kinds)
        if kinds and lane.threads > 0:
            lanes.append((presence.Serves(kinds, serves.backends), lane.threads))
    return lanes
