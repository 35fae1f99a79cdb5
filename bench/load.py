"""Load: N concurrent clients create characters and poll their tasks against a local server.

Run: .venv/bin/python bench/load.py [--clients 8] [--seconds 30] [--workers 2]
Starts `troupe serve` on 127.0.0.1 with a throwaway data dir and a CDN-like file server for a
synthetic 640x360 3 s clip with audio. Each client (a thread with its own key and connection)
repeatedly POSTs `/v1/characters` with `"async": true` and polls `GET /v1/tasks/{id}` until the
task settles, for `--seconds`. Then every task created is waited for (at most
`--settle-seconds`) and checked once more. Prints requests/s, characters completed per minute,
p50/p99 latency of the POST and of the GET, and the count of lost tasks (a 202 whose task later
answers 404 or never answered at all) and stuck tasks (not settled by the end): both must be 0,
and the exit status is 1 otherwise. The per-key rate limit is off: the figures are the server's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support import MediaServer, ServerProcess, start_media_server
from troupe.media.synthetic import ClipSpec, make_mascot_clip

SETTLED = ("completed", "failed")


@dataclass
class Tally:
    """What all clients saw; one lock guards it, as every client appends to it."""

    post_seconds: list[float] = field(default_factory=list)
    get_seconds: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)  # HTTP status -> count
    transport_errors: int = 0
    created: dict[str, str] = field(default_factory=dict)  # task id answered with 202 -> key
    settled: dict[str, str] = field(default_factory=dict)  # task id -> completed / failed
    seen: set[str] = field(default_factory=set)  # task ids that GET answered at least once
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            (self.post_seconds if kind == "POST" else self.get_seconds).append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1


@dataclass(frozen=True)
class Plan:
    source_url: str
    deadline: float  # time.monotonic() when clients stop starting work
    poll_seconds: float


def timed(
    tally: Tally, client: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response | None:
    """One request, its latency and status recorded; None when it never got an answer."""
    began = time.perf_counter()
    try:
        response = client.request(method, path, json=body)
    except httpx.TransportError:
        with tally.lock:
            tally.transport_errors += 1
        return None
    tally.record(method, time.perf_counter() - began, response.status_code)
    return response


def create_one(tally: Tally, client: httpx.Client, key: str, plan: Plan, index: int) -> str | None:
    body = {"url": plan.source_url, "timestamps": "0,2", "name": f"Load {index}", "async": True}
    response = timed(tally, client, "POST", "/v1/characters", body)
    if response is None or response.status_code != 202:
        return None
    task_id = str(response.json()["id"])
    with tally.lock:
        tally.created[task_id] = key
    return task_id


def poll_until_settled(tally: Tally, client: httpx.Client, plan: Plan, task_id: str) -> None:
    """Poll until the task settles or the run ends; the settle phase picks up what is left."""
    while time.monotonic() < plan.deadline:
        response = timed(tally, client, "GET", f"/v1/tasks/{task_id}")
        if response is not None and response.status_code == 200:
            status = response.json()["status"]
            with tally.lock:
                tally.seen.add(task_id)
                if status in SETTLED:
                    tally.settled[task_id] = status
            if status in SETTLED:
                return
        time.sleep(plan.poll_seconds)


def run_client(tally: Tally, server: ServerProcess, key: str, plan: Plan, number: int) -> None:
    with server.client(api_key=key) as client:
        index = 0
        while time.monotonic() < plan.deadline:
            index += 1
            task_id = create_one(tally, client, key, plan, number * 100_000 + index)
            if task_id is None:
                time.sleep(plan.poll_seconds)  # a refusal: do not spin on it
                continue
            poll_until_settled(tally, client, plan, task_id)


def settle_all(tally: Tally, clients: dict[str, httpx.Client], limit: float) -> None:
    """Wait (bounded) for every created task, each read with the key that created it."""
    deadline = time.monotonic() + limit
    pending = [task for task in tally.created if task not in tally.settled]
    while pending and time.monotonic() < deadline:
        for task_id in pending:
            response = clients[tally.created[task_id]].get(f"/v1/tasks/{task_id}")
            if response.status_code == 200:
                tally.seen.add(task_id)
                if response.json()["status"] in SETTLED:
                    tally.settled[task_id] = response.json()["status"]
        pending = [task for task in tally.created if task not in tally.settled]
        time.sleep(0.5)


def count_lost(tally: Tally, clients: dict[str, httpx.Client]) -> int:
    """Tasks a 202 promised that their key cannot read now (404), or that GET never answered."""
    lost = 0
    for task_id, key in tally.created.items():
        found = clients[key].get(f"/v1/tasks/{task_id}").status_code == 200
        lost += not found or task_id not in tally.seen
    return lost


def settle_and_count_lost(
    tally: Tally, server: ServerProcess, keys: list[str], limit: float
) -> int:
    clients = {key: server.client(api_key=key) for key in keys}
    try:
        settle_all(tally, clients, limit)
        return count_lost(tally, clients)
    finally:
        for client in clients.values():
            client.close()


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(tally: Tally, elapsed: float, completed_in_run: int, lost: int) -> int:
    """Print the figures; 1 when a task was lost or stuck."""
    requests = len(tally.post_seconds) + len(tally.get_seconds)
    completed = sum(1 for status in tally.settled.values() if status == "completed")
    failed = sum(1 for status in tally.settled.values() if status == "failed")
    stuck = len(tally.created) - len(tally.settled)
    print(f"requests: {requests} in {elapsed:.1f} s = {requests / elapsed:.1f} req/s")
    print(
        f"HTTP statuses: {dict(sorted(tally.statuses.items()))}; transport errors: "
        f"{tally.transport_errors}"
    )
    print(f"tasks created: {len(tally.created)}; completed: {completed}; failed: {failed}")
    print(f"characters completed per minute: {completed_in_run / elapsed * 60:.1f}")
    for label, values in (
        ("POST /v1/characters", tally.post_seconds),
        ("GET /v1/tasks/{id}", tally.get_seconds),
    ):
        p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
        print(f"{label:<22} n={len(values):<6} p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms")
    print(f"lost tasks: {lost}; stuck tasks: {stuck}")
    return 1 if lost or stuck else 0


def start_servers(root: Path, keys: list[str], workers: int) -> tuple[ServerProcess, MediaServer]:
    """troupe, with one key per client, and a file server holding the source clip."""
    make_mascot_clip(root / "source.mp4", ClipSpec(seconds=3, width=640, height=360))
    media = start_media_server(root)
    env = {
        "TROUPE_API_KEYS": ",".join(keys),
        "TROUPE_ALLOWED_HOSTS": "127.0.0.1",
        "TROUPE_WORKERS": str(workers),
        # Measure the server, not its per-key limiter: polling alone would exceed 600/min.
        "TROUPE_RATE_LIMIT_PER_MINUTE": "0",
    }
    server = ServerProcess(data_dir=root / "data", env=env, api_key=keys[0]).start()
    return server, media


def run_clients(server: ServerProcess, keys: list[str], plan: Plan, tally: Tally) -> None:
    threads = [
        threading.Thread(target=run_client, args=(tally, server, key, plan, number), daemon=True)
        for number, key in enumerate(keys)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2, help="worker threads in the server")
    parser.add_argument("--poll-seconds", type=float, default=0.25)
    parser.add_argument("--settle-seconds", type=float, default=180.0)
    args = parser.parse_args()
    keys = [f"load-key-{number}" for number in range(args.clients)]
    with tempfile.TemporaryDirectory() as tmp:
        server, media = start_servers(Path(tmp), keys, args.workers)
        try:
            tally = Tally()
            began = time.monotonic()
            plan = Plan(media.url("source.mp4"), began + args.seconds, args.poll_seconds)
            run_clients(server, keys, plan, tally)
            elapsed = time.monotonic() - began
            completed_in_run = sum(1 for s in tally.settled.values() if s == "completed")
            lost = settle_and_count_lost(tally, server, keys, args.settle_seconds)
        finally:
            server.stop()
            media.server.shutdown()
    print(
        f"{args.clients} clients, {args.seconds:g} s, {args.workers} server workers; "
        f"source 640x360 3 s, window 0-2 s"
    )
    return report(tally, elapsed, completed_in_run, lost)


if __name__ == "__main__":
    sys.exit(main())
