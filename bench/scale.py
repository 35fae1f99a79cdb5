"""Scale-out: one PostgreSQL, one API-only server, and 1, 2 and 4 `troupe worker` processes.

Run: .venv/bin/python bench/scale.py [--clients 4] [--seconds 45] [--workers 1,2,4]
Starts a throwaway PostgreSQL cluster, a CDN-like file server for a synthetic 640x360 3 s clip,
and `troupe serve` with TROUPE_WORKERS=0 (it answers the API and runs nothing). For each worker
count, that many `troupe worker --threads 1` processes run beside it, and --clients client
threads each loop for --seconds: create a character (async) or a 4 s 1280x720 animatic video of
a character made beforehand, in turn, and poll it until it settles. Prints jobs completed per
minute, p50/p99 time in queue (submit to first seen `in_progress`, polled every 50 ms) and p50
of the whole job. A last run with 2 workers SIGKILLs one a third of the way in; every job must
then complete exactly once, with nothing left held in the ledger (exit status 1 otherwise).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.*

import argparse
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.postgres import remove_cluster, start_cluster
from tests.support import (
    MediaServer,
    ServerProcess,
    WorkerProcess,
    start_media_server,
    wait_for_workers,
)
from troupe.api.auth import env_key_owner
from troupe.media.synthetic import ClipSpec, make_mascot_clip

KEY = "bench-key"
SETTLED = ("completed", "failed")


@dataclass
class Run:
    workers: int
    queued_seconds: list[float] = field(default_factory=list)
    job_seconds: list[float] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def submit(client: httpx.Client, media: MediaServer, turn: int) -> str:
    if turn % 2 == 0:
        body: dict[str, Any] = {"url": media.url("clip.mp4"), "timestamps": "0,2"}
        created = client.post("/v1/videos/generations", json=body)
    else:
        body = {"prompt": "@scale_star walks in the park", "seconds": "4", "size": "1280x720"}
        created = client.post("/v1/videos", json=body)
    created.raise_for_status()
    return str(created.json()["id"])


def follow(client: httpx.Client, task_id: str, run: Run) -> None:
    began = time.monotonic()
    started = None
    while True:
        task = client.get(f"/v1/tasks/{task_id}").json()
        if started is None and task["status"] != "queued":
            started = time.monotonic()
        if task["status"] in SETTLED:
            break
        time.sleep(0.05)
    with run.lock:
        run.queued_seconds.append((started or time.monotonic()) - began)
        run.job_seconds.append(time.monotonic() - began)
        run.failed += task["status"] != "completed"


def client_loop(server: ServerProcess, media: MediaServer, run: Run, until: float, n: int) -> None:
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120
    ) as client:
        turn = n
        while time.monotonic() < until:
            task_id = submit(client, media, turn)
            with run.lock:
                run.task_ids.append(task_id)
            follow(client, task_id, run)
            turn += 1


def measure(
    server: ServerProcess, media: MediaServer, args: argparse.Namespace, count: int, kill: bool
) -> Run:
    env = {"TROUPE_ALLOWED_HOSTS": "127.0.0.1", **server.env}
    workers = [
        WorkerProcess(server.data_dir, env, ["--threads", "1"], f"worker-{count}-{i}").start()
        for i in range(count)
    ]
    run = Run(workers=count)
    try:
        with server.client(KEY) as client:
            wait_for_workers(client, count)
        began = time.monotonic()
        until = began + args.seconds
        threads = [
            threading.Thread(target=client_loop, args=(server, media, run, until, n))
            for n in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        if kill:
            time.sleep(args.seconds / 3)
            workers[0].kill()
        for thread in threads:
            thread.join()
        run_seconds = time.monotonic() - began
    finally:
        for worker in workers:
            worker.stop()
    done = len(run.job_seconds) - run.failed
    print(
        f"{count} worker(s){' (one SIGKILLed)' if kill else ''}: {len(run.job_seconds)} jobs, "
        f"{done / run_seconds * 60:.1f} completed/min; in queue p50 "
        f"{_pct(run.queued_seconds, 50):.2f} s p99 {_pct(run.queued_seconds, 99):.2f} s; "
        f"whole job p50 {_pct(run.job_seconds, 50):.2f} s; failed {run.failed}"
    )
    return run


def check_ledger(server: ServerProcess, run: Run) -> bool:
    """Every task of the run charged once and nothing held."""
    with server.client(KEY) as client:
        entries: list[dict[str, Any]] = []
        before = None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"before": before} if before else {})}
            page = client.get("/v1/usage", params=params).json()
            entries += page["data"]
            held = page["held"]
            if not page["has_more"]:
                break
            before = page["data"][-1]["id"]
    kinds: dict[str, list[str]] = {}
    for entry in entries:
        kinds.setdefault(entry["task_id"], []).append(entry["kind"])
    wrong = [t for t in run.task_ids if sorted(kinds.get(t, [])) != ["charge", "reserve"]]
    print(f"  ledger: {len(run.task_ids)} tasks, held {held}, not charged exactly once: {wrong}")
    return held == 0 and not wrong


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    cluster = start_cluster()
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "media").mkdir()
        make_mascot_clip(root / "media" / "clip.mp4", ClipSpec(seconds=3, width=640, height=360))
        media = start_media_server(root / "media")
        env = {
            "TROUPE_DATABASE_URL": cluster.create_database("scale"),
            "TROUPE_WORKERS": "0",
            "TROUPE_API_KEYS": KEY,
            "TROUPE_RATE_LIMIT_PER_MINUTE": "0",
            "TROUPE_MAX_CONCURRENT_JOBS": "0",
            "TROUPE_JOB_LEASE_SECONDS": "5",
        }
        server = ServerProcess(root / "data", env=env, api_key=KEY).start()
        try:
            fund = [sys.executable, "-m", "troupe", "keys", "credit", env_key_owner(KEY), "1000"]
            subprocess.run(fund, env={**os.environ, **env}, check=True, capture_output=True)
            setup = WorkerProcess(server.data_dir, {"TROUPE_ALLOWED_HOSTS": "127.0.0.1", **env})
            setup.start()
            with server.client(KEY) as client:
                body = {"url": media.url("clip.mp4"), "username": "scale_star"}
                client.post("/v1/characters", json=body).raise_for_status()
            setup.stop()
            print(f"{os.cpu_count()} CPU cores; {args.clients} clients; {args.seconds:g} s a run")
            for count in (int(n) for n in args.workers.split(",")):
                ok &= measure(server, media, args, count, kill=False).failed == 0
            ok &= check_ledger(server, measure(server, media, args, 2, kill=True))
        finally:
            server.stop()
            media.server.shutdown()
            remove_cluster(cluster)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
