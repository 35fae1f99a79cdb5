"""Character jobs keep a lane of their own: while renders hold every other worker thread, a
synchronous character creation still runs at once, on the embedded server and in a `troupe
worker` process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from tests.api.test_roles import API_ONLY, start_worker
from tests.conftest import StartServer
from tests.support import (
    MediaServer,
    WorkerProcess,
    start_media_server,
    wait_for_task,
    wait_for_workers,
)
from troupe.jobs.queue import ClaimedJob
from troupe.jobs.worker import Lane, Worker, WorkerConfig
from troupe.settings import Settings
from troupe.store import repo
from troupe.store.db import Database

# Long enough that a render waiting on a held reference never times out before the test opens
# the gate (or the gate opens by itself).
NO_FETCH_TIMEOUT = {"TROUPE_FETCH_TIMEOUT_SECONDS": "600"}


@pytest.fixture
def held(media_dir: Path) -> Iterator[MediaServer]:
    """A file server of this test's own, whose `/held/` answers wait for its gate."""
    server = start_media_server(media_dir)
    yield server
    server.open_gate()
    server.server.shutdown()


def start_held_renders(client: httpx.Client, held: MediaServer, count: int) -> list[str]:
    """`count` renders, each running and waiting for its reference image until the gate opens."""
    body = {"prompt": "a kite over a lake", "input_reference": {"image_url": ""}}
    ids = []
    for index in range(count):
        body["input_reference"] = {"image_url": held.held_url(f"picture.png?{index}")}
        created = client.post("/v1/videos", json=body)
        assert created.status_code == 200, created.text
        ids.append(str(created.json()["id"]))
    deadline = time.monotonic() + 30
    while statuses(client, ids) != ["in_progress"] * count:
        assert time.monotonic() < deadline, f"the renders never all ran: {statuses(client, ids)}"
        time.sleep(0.05)
    return ids


def statuses(client: httpx.Client, task_ids: list[str]) -> list[str]:
    return [client.get(f"/v1/tasks/{task_id}").json()["status"] for task_id in task_ids]


def assert_character_made_beside(
    client: httpx.Client, held: MediaServer, renders: list[str], username: str
) -> None:
    made = client.post(
        "/v1/sora/characters", json={"url": held.url("small.mp4"), "username": username}
    )
    # Read before the gate opens: the renders cannot have finished yet, unless the character
    # waited for one of them (the gate opens by itself after a minute).
    while_made = statuses(client, renders)
    held.open_gate()
    assert made.status_code == 200, made.text
    assert made.json()["username"] == username
    assert while_made == ["in_progress"] * len(renders), "the character waited for a render"
    assert [wait_for_task(client, task_id)["status"] for task_id in renders] == ["completed"] * len(
        renders
    )


def test_a_synchronous_character_is_made_while_renders_hold_every_thread(
    make_server: StartServer, held: MediaServer
) -> None:
    """The default embedded server: as many renders as `TROUPE_WORKERS` threads, all running,
    and a synchronous creation still answers the character while they run."""
    server = make_server(NO_FETCH_TIMEOUT)
    with server.client() as client:
        renders = start_held_renders(client, held, Settings.model_fields["workers"].default)
        assert_character_made_beside(client, held, renders, "quick_one")


def test_a_worker_process_keeps_its_character_lane_on_postgresql(
    make_server: StartServer,
    held: MediaServer,
    workers: list[WorkerProcess],
    postgres_url: str,
) -> None:
    """An API-only server and one `troupe worker --threads 1` on PostgreSQL: its one thread
    renders, its lane makes the character."""
    server = make_server({**API_ONLY, **NO_FETCH_TIMEOUT, "TROUPE_DATABASE_URL": postgres_url})
    start_worker(workers, server, "--threads", "1")
    with server.client() as client:
        assert wait_for_workers(client, 1)["threads"] == 2, "one thread and one in the lane"
        renders = start_held_renders(client, held, 1)
        assert_character_made_beside(client, held, renders, "lane_star")


def enqueue(db: Database, kind: str, *task_ids: str) -> None:
    with db.transaction() as session:
        for task_id in task_ids:
            repo.create_task(session, task_id=task_id, owner="o", kind=kind, model="m", request={})


def task_statuses(db: Database, *task_ids: str) -> list[str]:
    with db.transaction() as session:
        tasks = [repo.get_task_by_id(session, task_id) for task_id in task_ids]
        return [task.status if task else "missing" for task in tasks]


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_lane_takes_characters_and_never_a_render(db: Database) -> None:
    """Two threads hold renders and a third render waits: the lane's thread makes a character
    queued after all three, and leaves the waiting render alone."""
    release = threading.Event()

    def render(job: ClaimedJob, progress: Callable[[int], None]) -> Callable[[Session], None]:
        release.wait(60)
        return lambda session: None

    def character(job: ClaimedJob, progress: Callable[[int], None]) -> Callable[[Session], None]:
        return lambda session: None

    config = WorkerConfig(
        threads=2,
        lease_seconds=30,
        max_attempts=3,
        idle_poll_seconds=0.05,
        lanes=(Lane(("character",), 1),),
    )
    worker = Worker(db, {"character": character, "video": render}, config)
    assert worker.identity.threads == 3
    renders = ("task_render_0", "task_render_1", "task_render_2")
    enqueue(db, "video", *renders)
    worker.start()
    try:
        wait_until(
            lambda: sorted(task_statuses(db, *renders)) == ["in_progress", "in_progress", "queued"],
            "two renders never ran",
        )
        enqueue(db, "character", "task_character")
        worker.notify_new_job()
        wait_until(
            lambda: task_statuses(db, "task_character") == ["completed"],
            "the character waited for a render",
        )
        assert sorted(task_statuses(db, *renders)) == ["in_progress", "in_progress", "queued"]
        release.set()
        wait_until(
            lambda: task_statuses(db, *renders) == ["completed"] * 3, "the renders never ended"
        )
    finally:
        release.set()
        worker.stop(5)
