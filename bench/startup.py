"""Start-up: what importing the app costs, and how soon `troupe serve` answers, against the floor
(importing FastAPI and SQLAlchemy, all that a bare app on the same stack needs) in the same run.

Run: .venv/bin/python bench/startup.py [--repeats 5] [--busy]

Figures are medians of fresh interpreters. `troupe serve` is started as operators start it (the
`troupe` script) on a data dir it has started on before; "healthy" is its first 200 on /healthz,
"all ready" the moment /readyz counts a worker in every process. `--busy` keeps every core busy
twice over meanwhile, as on a machine doing other work (where uvicorn used to kill children that
had not answered its health check within 5 s).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support import free_port

TROUPE = str(Path(sys.executable).with_name("troupe"))
FLOOR = "import fastapi, sqlalchemy"
IMPORTS = [FLOOR, "import troupe.api.app", "import troupe.cli"]
POLL_SECONDS = 0.01


def import_seconds(code: str) -> tuple[float, float]:
    """Seconds of `python -c code` from the command to its exit, and of the import itself."""
    timed = (
        f"import time; started = time.perf_counter(); {code}; print(time.perf_counter() - started)"
    )
    started = time.perf_counter()
    inside = subprocess.run(
        [sys.executable, "-c", timed], check=True, capture_output=True, text=True
    )
    return time.perf_counter() - started, float(inside.stdout)


def answers(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=1)
    except httpx.TransportError:
        return None


def serve_seconds(data_dir: Path, processes: int) -> tuple[float, float]:
    """Seconds from the command until /healthz answers, and until every process is ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [TROUPE, "serve", "--port", str(port), "--data-dir", str(data_dir)]
    started = time.perf_counter()
    server = subprocess.Popen(
        [*command, "--processes", str(processes)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        healthy = ready = None
        while ready is None:
            if server.poll() is not None:
                raise RuntimeError(f"troupe serve exited with status {server.returncode}")
            if healthy is None and answers(f"{base}/healthz"):
                healthy = time.perf_counter() - started
            readiness = answers(f"{base}/readyz") if healthy is not None else None
            if readiness is not None and readiness.json()["workers"]["live"] == processes:
                ready = time.perf_counter() - started
            time.sleep(POLL_SECONDS)
        assert healthy is not None
        return healthy, ready
    finally:
        server.terminate()
        server.wait(60)
        # The sandbox's fork server, still loading models, would slow the next start down.
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)


@contextmanager
def busy_cpu(enabled: bool) -> Iterator[None]:
    spin = [sys.executable, "-c", "while True: pass"]
    count = 2 * (os.cpu_count() or 1) if enabled else 0
    burners = [subprocess.Popen(spin) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--busy", action="store_true", help="keep every core busy meanwhile")
    args = parser.parse_args()
    print(
        f"medians of {args.repeats} runs, {os.cpu_count()} cores, busy: {args.busy}, "
        f"bytecode cached: {not sys.dont_write_bytecode}"
    )
    with busy_cpu(args.busy), tempfile.TemporaryDirectory() as scratch:
        seconds, inside = {}, {}
        for code in IMPORTS:
            import_seconds(code)  # bytecode caches, when they are written
            runs = [import_seconds(code) for _ in range(args.repeats)]
            seconds[code] = statistics.median(run[0] for run in runs)
            inside[code] = statistics.median(run[1] for run in runs)
        floor = seconds[FLOOR]
        print("python -c CODE, from the command to its exit; and the import alone, in the process")
        for code in IMPORTS:
            print(
                f"{code:38s} {seconds[code]:6.3f} s  {seconds[code] / floor:5.2f}x the floor"
                f"   import alone {inside[code]:6.3f} s"
            )
        # Environment settings (TROUPE_DATA_DIR among them) would change what is measured.
        for name in [name for name in os.environ if name.startswith("TROUPE_")]:
            del os.environ[name]
        for processes in (1, 2):
            data_dir = Path(scratch) / f"data-{processes}"
            serve_seconds(data_dir, processes)  # makes the database; later starts find it
            runs = [serve_seconds(data_dir, processes) for _ in range(args.repeats)]
            healthy = statistics.median(run[0] for run in runs)
            ready = statistics.median(run[1] for run in runs)
            print(
                f"troupe serve --processes {processes}:  healthy {healthy:5.2f} s"
                f"  all ready {ready:5.2f} s  ({healthy / floor:4.1f}x the floor)"
            )


if __name__ == "__main__":
    main()
