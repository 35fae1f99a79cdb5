"""`troupe serve --processes N`: uvicorn's supervisor of the server processes, patient with a
child that starts slowly on a busy machine, and saying why it replaces one that died."""

from __future__ import annotations

import logging
import signal
import time

import uvicorn
from uvicorn.supervisors import Multiprocess

# The supervisor's own log, which uvicorn configures.
log = logging.getLogger("uvicorn.error")

# uvicorn kills and replaces a child that does not answer its health check (a ping on a pipe)
# within this. Its default of 5 s was shorter than a busy machine took to start a child, which
# was then killed before it served, again and again.
HEALTHCHECK_SECONDS = 60


def death_reason(exitcode: int | None, was_running: bool, checked_for: float) -> str:
    """Why a child is gone. The supervisor's own SIGKILL, for an unanswered health check, needs
    the child running when the check began (`was_running`) and a check that lasted the whole
    timeout (`checked_for` seconds): a SIGKILL from elsewhere during a short check is not it."""
    if was_running and checked_for >= HEALTHCHECK_SECONDS and exitcode == -signal.SIGKILL:
        return f"it did not answer its health check within {HEALTHCHECK_SECONDS} s and was killed"
    if exitcode is not None and exitcode < 0:
        return f"it was killed by {signal.Signals(-exitcode).name}"
    return f"it exited with status {exitcode}"


class Supervisor(Multiprocess):
    """uvicorn's supervisor, which logs why each child it replaces died (uvicorn itself says
    only that it died)."""

    def keep_subprocess_alive(self) -> None:
        running = {process: process.process.is_alive() for process in self.processes}
        began = time.monotonic()
        super().keep_subprocess_alive()
        checked_for = time.monotonic() - began
        for process, was_running in running.items():
            if process not in self.processes:
                reason = death_reason(process.exitcode, was_running, checked_for)
                log.error("server process [%s] replaced: %s", process.pid, reason)


def serve_processes(host: str, port: int, processes: int) -> None:
    """Serve the app from `processes` children sharing one socket, until SIGINT or SIGTERM;
    each builds its settings from the environment."""
    config = uvicorn.Config(
        "troupe.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_level="info",
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
    )
    sock = config.bind_socket()
    try:
        Supervisor(config, sockets=[sock]).run()
    finally:
        sock.close()
