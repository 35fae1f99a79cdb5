"""Worker heartbeats on real SQLite and PostgreSQL databases, and what a waiting job is told."""

from __future__ import annotations

import time

from troupe.jobs import presence
from troupe.jobs.presence import Identity, Serves, WorkerSeen, summarize, waiting_for
from troupe.store.db import Database

CPU = Serves(kinds=("character", "video"), backends=("animatic",))
GPU = Serves(kinds=("video",), backends=("wan-vace",))


def seen(worker_id: str, serves: Serves, running: int = 0) -> WorkerSeen:
    return WorkerSeen(worker_id, "host", serves, threads=2, running=running, seen_at=0.0)


def identity(worker_id: str, serves: Serves) -> Identity:
    return Identity(worker_id, "host", 1, serves, threads=2, started_at=time.time())


def test_a_job_no_live_worker_takes_says_which_worker_it_waits_for() -> None:
    assert waiting_for("video", "animatic", [seen("a", CPU)]) is None
    assert waiting_for("character", None, [seen("a", CPU)]) is None
    gpu_only = [seen("g", GPU)]
    note = waiting_for("video", "animatic", gpu_only)
    assert note is not None and "animatic back end" in note and "--backends animatic" in note
    note = waiting_for("character", None, gpu_only)
    assert note is not None and "character jobs" in note
    assert waiting_for("video", "wan-vace", []) is not None


def test_a_summary_counts_workers_by_what_they_serve() -> None:
    summary = summarize([seen("a", CPU, running=2), seen("g", GPU, running=1)])
    assert (summary.live, summary.threads, summary.running) == (2, 4, 3)
    assert summary.by_kind == {"character": 1, "video": 2}
    assert summary.by_backend == {"animatic": 1, "wan-vace": 1}


def test_heartbeats_show_live_workers_until_they_leave_or_go_stale(db: Database) -> None:
    presence.beat(db, identity("cpu", CPU), running=1)
    presence.beat(db, identity("gpu", GPU), running=0)
    presence.beat(db, identity("cpu", CPU), running=2)  # a second beat updates the same row
    live = presence.live_workers(db, within_seconds=30)
    assert [(w.id, w.serves, w.running) for w in live] == [("cpu", CPU, 2), ("gpu", GPU, 0)]
    presence.leave(db, "gpu")
    time.sleep(0.05)
    assert [w.id for w in presence.live_workers(db, within_seconds=30)] == ["cpu"]
    # A worker that stopped beating (killed) drops out once its heartbeat is older than that.
    assert presence.live_workers(db, within_seconds=0.01) == []
