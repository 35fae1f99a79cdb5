"""Test helpers: a real troupe server in a child process, and a static file server for sources."""

from __future__ import annotations

import functools
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from filelock import FileLock, Timeout

T = TypeVar("T")
SLOW_SECONDS = 3.0
# A `/held/` request answers when its test opens the gate, or after this long at the latest.
HELD_MAX_SECONDS = 60.0


def run_dir(factory: pytest.TempPathFactory) -> Path:
    """A folder that every xdist worker of this run shares (the run's own folder without xdist)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def computed_each(
    factory: pytest.TempPathFactory, name: str, keys: list[str], compute: Callable[[str], T]
) -> dict[str, T]:
    """`compute(key)` for each key once per run, shared out among the xdist workers that ask:
    each computes the keys that no other has started, then waits for the rest (computed by one
    worker, as they were, the whole set kept another waiting idle for 20 s)."""
    folder = run_dir(factory) / name
    folder.mkdir(exist_ok=True)
    found: dict[str, T] = {}
    for wait in (False, True):
        for key in [key for key in keys if key not in found]:
            path = folder / f"{key}.pickle"
            try:
                with FileLock(f"{path}.lock", timeout=-1 if wait else 0):
                    if not path.is_file():
                        path.write_bytes(pickle.dumps(compute(key)))
                    found[key] = pickle.loads(path.read_bytes())
            except Timeout:
                continue  # another worker is computing it: the next pass waits for it
    return {key: found[key] for key in keys}


# Ports tried by a server start: another process may take a free port before the server binds it.
PORT_TRIES = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """`troupe serve` on 127.0.0.1, started and stopped like an operator would."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    api_key: str | None = "test-key-alpha"
    port: int = field(default_factory=free_port)
    args: list[str] = field(default_factory=list)
    program: list[str] = field(default_factory=lambda: [sys.executable, "-m", "troupe"])
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-server.log"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the server and wait until it answers. A port from `free_port` may be taken by
        another test's process before the server binds it: the server then exits, and another
        troupe may be answering /healthz there, so it starts again on a new port."""
        for _ in range(PORT_TRIES):
            if self._launch(timeout):
                return self
            self.port = free_port()
        raise RuntimeError(f"server found no free port:\n{self.log_path.read_text()[-4000:]}")

    def _launch(self, timeout: float) -> bool:
        env = {
            **os.environ,
            "TROUPE_ALLOWED_HOSTS": "127.0.0.1",
            "TROUPE_API_KEYS": "test-key-alpha,test-key-beta",
            **self.env,
        }
        command = [*self.program, "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), *self.args]
        with self.log_path.open("ab") as log:
            logged_from = log.tell()  # a restart on the same data dir appends to the same log
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self._wait_healthy(timeout, logged_from)

    def _wait_healthy(self, timeout: float, logged_from: int) -> bool:
        """True once this process says it listens on the port and /healthz answers there;
        False when it exits because the port was taken."""
        listening = f"Uvicorn running on {self.base_url}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            log = self._log_since(logged_from)
            if self.process.poll() is not None:
                if "address already in use" in log:
                    return False
                raise RuntimeError(f"server exited early:\n{log[-4000:]}")
            try:
                answered = httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                answered = False
            if answered and listening in log:
                return True
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self._log_since(logged_from)[-4000:]}")

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, api_key: str | None = None, **kwargs: Any) -> httpx.Client:
        key = self.api_key if api_key is None else api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=120, **kwargs)


@dataclass
class WorkerProcess:
    """`troupe worker` on a server's data dir and database, started like an operator would."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    name: str = "worker"
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        command = [sys.executable, "-m", "troupe", "worker", "--data-dir", str(self.data_dir)]
        log_path = self.data_dir.parent / f"{self.name}.log"
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.args],
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int | None:
        """SIGTERM, as a service manager stops it; answers its exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.terminate()
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


def wait_for_workers(client: httpx.Client, live: int, timeout: float = 60) -> dict[str, Any]:
    """/readyz's worker summary once exactly `live` workers are seen."""
    deadline = time.monotonic() + timeout
    while True:
        workers: dict[str, Any] = client.get("/readyz").json()["workers"]
        if workers["live"] == live:
            return workers
        assert time.monotonic() < deadline, f"expected {live} live workers, saw {workers}"
        time.sleep(0.1)


class SourceServer(ThreadingHTTPServer):
    """The file server, with a gate that holds `/held/` requests until a test opens it."""

    gate: threading.Event


class SourceHandler(SimpleHTTPRequestHandler):
    """Static files, plus `/redirect?to=URL`, `/slow/NAME` (waits 3 s before answering) and
    `/held/NAME` (waits until the server's gate opens)."""

    server: SourceServer

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", urllib.parse.parse_qs(query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.startswith("/slow/"):
            time.sleep(SLOW_SECONDS)
            self.path = path.removeprefix("/slow")
        if path.startswith("/held/"):
            self.server.gate.wait(HELD_MAX_SECONDS)
            self.path = path.removeprefix("/held")
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class MediaServer:
    """Serves a folder over HTTP on 127.0.0.1, as a CDN would serve source videos."""

    root: Path
    server: SourceServer

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def held_url(self, name: str) -> str:
        """A URL whose answer waits until `open_gate` (a job that fetches it stays running)."""
        return f"{self.base_url}/held/{name}"

    def open_gate(self) -> None:
        self.server.gate.set()


def start_media_server(root: Path) -> MediaServer:
    handler = functools.partial(SourceHandler, directory=str(root))
    server = SourceServer(("127.0.0.1", 0), handler)
    server.gate = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return MediaServer(root=root, server=server)


def wait_for_task(client: httpx.Client, task_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/tasks/{task_id}").json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not settle in {timeout}s")


def start_slow_task(client: httpx.Client, media: MediaServer) -> str:
    """A character task whose download /slow/ holds for a few seconds, returned once running."""
    task = client.post(
        "/v1/videos/generations",
        json={"url": f"{media.base_url}/slow/small.mp4", "timestamps": "0,2"},
    ).json()
    deadline = time.monotonic() + 10
    while client.get(f"/v1/tasks/{task['id']}").json()["status"] != "in_progress":
        assert time.monotonic() < deadline, "the job was never claimed"
        time.sleep(0.05)
    return str(task["id"])


def assert_deletes(client: httpx.Client, character: dict[str, Any]) -> None:
    """DELETE answers the SPEC's deletion object, and the character is gone afterwards."""
    deleted = client.delete(f"/v1/characters/{character['id']}")
    assert deleted.json() == {"id": character["id"], "object": "character.deleted", "deleted": True}
    assert client.get(f"/v1/characters/{character['id']}").status_code == 404


def assert_range_refused(response: httpx.Response, size: int) -> None:
    """A Range that cannot be served: 416, OpenAI's error JSON, and the file's size."""
    assert response.status_code == 416, response.text
    assert response.headers["content-range"] == f"bytes */{size}"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "range_not_satisfiable"


def in_a_forked_child(check: Callable[[], list[bool]]) -> list[bool]:
    """What `check` answers when run in a child forked from this process, as the sandbox's fork
    server forks its children: for models that must build their own session after a fork."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, bytes(check()))
        os._exit(0)
    os.close(write)
    answer = os.read(read, 64)
    os.waitpid(pid, 0)
    os.close(read)
    return [bool(b) for b in answer]
