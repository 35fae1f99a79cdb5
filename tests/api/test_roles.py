"""Roles over real processes: an API-only server (`TROUPE_WORKERS=0`) queues jobs and says what
they wait for, `troupe worker` processes run them, a GPU worker takes only its back end's
renders, and on PostgreSQL two workers finish every job although one is SIGKILLed."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.api.test_trust import ALPHA, fund, ledger, usage
from tests.conftest import StartServer
from tests.support import (
    MediaServer,
    ServerProcess,
    WorkerProcess,
    wait_for_task,
    wait_for_workers,
)

API_ONLY = {
    "TROUPE_WORKERS": "0",
    "TROUPE_POLL_AFTER_MS": "100",
    "TROUPE_RATE_LIMIT_PER_MINUTE": "0",
}


def start_worker(
    started: list[WorkerProcess], server: ServerProcess, *args: str, name: str = "worker"
) -> WorkerProcess:
    # The same settings as the server's (the worker fetches sources from 127.0.0.1 too).
    env = {"TROUPE_ALLOWED_HOSTS": "127.0.0.1", **server.env}
    worker = WorkerProcess(server.data_dir, env, list(args), name).start()
    started.append(worker)
    return worker


def character_task(client: httpx.Client, media: MediaServer, slow: bool = False) -> str:
    source = f"{media.base_url}/slow/small.mp4" if slow else media.url("small.mp4")
    created = client.post("/v1/videos/generations", json={"url": source, "timestamps": "0,2"})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def video(client: httpx.Client, model: str, prompt: str) -> str:
    body = {"model": model, "prompt": prompt, "seconds": "4", "size": "1280x720"}
    created = client.post("/v1/videos", json=body)
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def jobs(database_url: str) -> dict[str, tuple[str, str, int]]:
    """task id -> the worker that last ran its job (or ""), the job's state and attempts."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT task_id, worker_id, state, attempts FROM jobs")
            ).all()
    finally:
        engine.dispose()
    return {task_id: (worker or "", state, attempts) for task_id, worker, state, attempts in rows}


def ran_on(worker_id: str, worker: WorkerProcess) -> bool:
    return f":{worker.pid}:" in worker_id


def test_an_api_only_server_queues_jobs_until_a_worker_comes(
    make_server: StartServer, media: MediaServer, workers: list[WorkerProcess]
) -> None:
    server = make_server(API_ONLY)
    with server.client() as client:
        assert wait_for_workers(client, 0)["running"] == 0
        task_id = character_task(client, media)
        time.sleep(1.0)
        waiting = client.get(f"/v1/tasks/{task_id}").json()
        assert (waiting["status"], waiting["progress"]) == ("queued", 0)
        assert "a worker for character jobs" in waiting["waiting_for"]
        worker = start_worker(workers, server)
        summary = wait_for_workers(client, 1)
        assert summary["by_kind"] == {"character": 1, "video": 1}
        assert summary["by_backend"] == {"animatic": 1}
        done = wait_for_task(client, task_id)
        assert done["status"] == "completed" and done["waiting_for"] is None
        assert "troupe_workers_live 1.0" in client.get("/metrics").text
        assert worker.stop() == 0
        # A worker that stops cleanly leaves at once; it does not wait to go stale.
        wait_for_workers(client, 0, timeout=5)


def test_a_gpu_worker_takes_only_its_back_ends_renders(
    make_server: StartServer,
    media: MediaServer,
    workers: list[WorkerProcess],
    tiny_wan: Path,
) -> None:
    from tests.api.test_wan_vace import MODEL, wan_env

    server = make_server({**wan_env(tiny_wan), **API_ONLY})
    with server.client() as client:
        start_worker(workers, server, "--kinds", "character", name="cpu")
        made = client.post(
            "/v1/characters", json={"url": media.url("small.mp4"), "username": "gpu_star"}
        )
        assert made.status_code == 200, made.text
        gpu = start_worker(
            workers, server, "--kinds", "video", "--backends", "wan-vace", name="gpu"
        )
        wait_for_workers(client, 2)
        drawn = video(client, "sora-2", "@gpu_star walks in the park")
        generated = video(client, MODEL, "@gpu_star walks in the park")
        assert wait_for_task(client, generated)["status"] == "completed"
        waiting = client.get(f"/v1/videos/{drawn}").json()
        assert waiting["status"] == "queued" and "animatic back end" in waiting["waiting_for"]
        cpu = start_worker(workers, server, "--backends", "animatic", name="cpu-render")
        assert wait_for_task(client, drawn)["status"] == "completed"
    ran = jobs(f"sqlite:///{server.data_dir / 'troupe.db'}")
    assert ran_on(ran[generated][0], gpu) and ran_on(ran[drawn][0], cpu)


def test_two_workers_on_postgresql_finish_every_job_though_one_is_killed(
    make_server: StartServer,
    media: MediaServer,
    workers: list[WorkerProcess],
    postgres_url: str,
) -> None:
    env = {**API_ONLY, "TROUPE_DATABASE_URL": postgres_url, "TROUPE_JOB_LEASE_SECONDS": "3"}
    server = make_server(env)
    fund(server, ALPHA, 10.0)
    doomed = start_worker(workers, server, "--threads", "1", name="doomed")
    survivor = start_worker(workers, server, "--threads", "1", name="survivor")
    with server.client() as client:
        wait_for_workers(client, 2)
        made = client.post(
            "/v1/characters", json={"url": media.url("small.mp4"), "username": "pg_star"}
        )
        assert made.status_code == 200, made.text
        tasks = [character_task(client, media, slow=True) for _ in range(3)]
        tasks += [video(client, "sora-2", f"@pg_star dances, take {n}") for n in range(2)]
        deadline = time.monotonic() + 60
        while not any(
            ran_on(worker_id, doomed) and state == "running"
            for worker_id, state, _ in jobs(postgres_url).values()
        ):
            assert time.monotonic() < deadline, "the doomed worker never took a job"
            time.sleep(0.05)
        doomed.kill()
        settled = [wait_for_task(client, task_id, timeout=300) for task_id in tasks]
        assert [task["status"] for task in settled] == ["completed"] * len(tasks)
        body = usage(client)
        wait_for_workers(client, 1)
    assert body["held"] == 0
    for task_id in tasks:
        assert ledger(body, task_id) == ["charge", "reserve"]
    ran = jobs(postgres_url)
    assert any(ran_on(ran[task_id][0], survivor) for task_id in tasks)


def test_an_api_server_restarting_beside_a_worker_leaves_its_jobs_alone(
    make_server: StartServer, media: MediaServer, workers: list[WorkerProcess]
) -> None:
    """On the SQLite default, a process alone on the data dir takes back jobs left running;
    a worker still running there keeps its own."""
    server = make_server(API_ONLY)
    start_worker(workers, server, "--threads", "2")
    with server.client() as client:
        wait_for_workers(client, 1)
        task_id = character_task(client, media, slow=True)
        deadline = time.monotonic() + 30
        while client.get(f"/v1/tasks/{task_id}").json()["status"] != "in_progress":
            assert time.monotonic() < deadline, "the worker never took the job"
            time.sleep(0.05)
    server.stop()
    server.start()
    with server.client() as client:
        assert wait_for_task(client, task_id)["status"] == "completed"
    attempts = jobs(f"sqlite:///{server.data_dir / 'troupe.db'}")[task_id][2]
    assert attempts == 1, "the restarted server took the running job from the worker"
