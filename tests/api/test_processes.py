"""`troupe serve --processes N`: several server processes on one port and one data dir."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import ServerProcess, wait_for_workers
from troupe.cli.supervisor import HEALTHCHECK_SECONDS, death_reason


def test_serve_with_two_processes_shares_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, {"TROUPE_WORKERS": "1"}, args=["--processes", "2"])
    try:
        server.start(timeout=90)
        # A video queued through one process is read through whichever answers next.
        with server.client() as client:
            queued = client.post("/v1/videos", json={"prompt": "a beach", "seconds": "4"})
            assert queued.status_code == 200, queued.text
            for _ in range(20):  # new connections, spread over both processes
                with server.client() as fresh:
                    polled = fresh.get(f"/v1/videos/{queued.json()['id']}")
                    assert polled.status_code == 200
                    assert polled.json()["id"] == queued.json()["id"]
            assert client.delete(f"/v1/videos/{queued.json()['id']}").is_success  # not wanted
            assert (data_dir / "troupe.db").exists()
    finally:
        server.stop()


@contextmanager
def busy_cpu() -> Iterator[None]:
    """Every core kept busy twice over, as on a machine doing other work."""
    spin = [sys.executable, "-c", "while True: pass"]
    burners = [subprocess.Popen(spin) for _ in range(2 * (os.cpu_count() or 1))]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def two_processes(data_dir: Path) -> ServerProcess:
    return ServerProcess(
        data_dir=data_dir,
        env={"TROUPE_WORKERS": "1"},
        args=["--processes", "2"],
        # The `troupe` script, as operators run it: each child runs that script again before it
        # answers its first health check (for `python -m troupe`, multiprocessing skips that).
        program=[str(Path(sys.executable).with_name("troupe"))],
    )


def wait_for_log(server: ServerProcess, pattern: str, count: int = 1) -> list[str]:
    """Every match of `pattern` in the server's log (its group), once there are `count`."""
    deadline = time.monotonic() + 120
    while True:
        found = re.findall(pattern, server.log_path.read_text())
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, server.log_path.read_text()[-3000:]
        time.sleep(0.1)


def stop_cleanly(server: ServerProcess) -> int:
    assert server.process is not None
    server.process.terminate()
    return server.process.wait(60)


def test_serve_with_two_processes_starts_and_serves_on_a_busy_machine(tmp_path: Path) -> None:
    server = two_processes(tmp_path / "data")
    try:
        with busy_cpu():
            server.start(timeout=300)
            with server.client() as client:
                # Each process registers its worker at the end of its start-up: both are serving.
                wait_for_workers(client, live=2, timeout=300)
            for _ in range(10):  # new connections, spread over both processes
                with server.client() as fresh:
                    assert fresh.get("/healthz").status_code == 200
                    listed = fresh.get("/v1/characters")
                    assert listed.status_code == 200, listed.text
                    assert listed.json()["object"] == "list"
    finally:
        exit_code = stop_cleanly(server)
    log = server.log_path.read_text()
    assert "died" not in log and "replaced" not in log, log[-3000:]
    assert exit_code == 0, log[-3000:]


def test_a_server_process_that_dies_is_replaced_saying_why(tmp_path: Path) -> None:
    server = two_processes(tmp_path / "data").start()
    try:
        victim = wait_for_log(server, r"Started server process \[(\d+)\]", count=2)[0]
        os.kill(int(victim), signal.SIGKILL)
        wait_for_log(server, rf"server process \[{victim}\] replaced: it was killed by SIGKILL")
        wait_for_log(server, r"Started server process \[(\d+)\]", count=3)
        for _ in range(10):
            with server.client() as fresh:
                assert fresh.get("/v1/characters").status_code == 200
    finally:
        exit_code = stop_cleanly(server)
    assert exit_code == 0, server.log_path.read_text()[-3000:]


@pytest.mark.parametrize(
    ("exitcode", "was_running", "checked_for", "reason"),
    [
        (
            -signal.SIGKILL,
            True,
            HEALTHCHECK_SECONDS + 0.1,
            f"it did not answer its health check within {HEALTHCHECK_SECONDS} s and was killed",
        ),
        # Killed by someone else between the supervisor's two looks: its check was short.
        (-signal.SIGKILL, True, 0.01, "it was killed by SIGKILL"),
        (-signal.SIGKILL, False, HEALTHCHECK_SECONDS + 0.1, "it was killed by SIGKILL"),
        (-signal.SIGSEGV, True, HEALTHCHECK_SECONDS + 0.1, "it was killed by SIGSEGV"),
        (1, False, 0.01, "it exited with status 1"),
    ],
)
def test_death_reason(exitcode: int, was_running: bool, checked_for: float, reason: str) -> None:
    assert death_reason(exitcode, was_running, checked_for) == reason
