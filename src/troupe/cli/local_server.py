"""A troupe server inside this process, for `troupe demo`: started on a thread, stopped at will."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from troupe.api.app import create_app
from troupe.settings import Settings

START_TIMEOUT_SECONDS = 120.0


def answers_as_troupe(base_url: str) -> bool:
    """Whether a troupe server already answers at `base_url`."""
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/healthz", timeout=2)
        return response.status_code == 200 and response.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError):
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `port`, or on a free port when it is taken (or 0)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.bind((host, 0))
    sock.listen(128)
    return sock


class LocalServer:
    """uvicorn serving `create_app(settings)` on its own thread."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.socket = bind(host, port)
        self.host = host
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalServer:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the troupe server stopped while starting; see the log above")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the troupe server did not start in {START_TIMEOUT_SECONDS}s")
            time.sleep(0.05)
        return self

    def serve_until_interrupted(self) -> None:
        try:
            while self.thread.is_alive():
                self.thread.join(0.5)
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.socket.close()
