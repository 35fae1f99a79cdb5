"""Waking idle workers the moment a job can be claimed: on PostgreSQL a LISTEN on the jobs
channel, which every enqueue and hand-back NOTIFYs in its own transaction; SQLite has no such
thing, and its workers poll."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import make_url

from troupe.store.db import JOBS_CHANNEL

log = logging.getLogger(__name__)

_RECONNECT_SECONDS = 1.0


class JobListener:
    """A thread holding one PostgreSQL connection that LISTENs and calls `wake` at each
    notification (and once after every reconnect, for what it may have missed)."""

    def __init__(self, database_url: str, wake: Callable[[], None]) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.wake = wake
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="troupe-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)

    def _run(self) -> None:
        import psycopg

        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {JOBS_CHANNEL}")
                    self.wake()
                    while not self._stopping.is_set():
                        for _ in connection.notifies(timeout=0.5, stop_after=1):
                            self.wake()
            except Exception:
                log.exception("listening for new jobs failed; reconnecting")
                self._stopping.wait(_RECONNECT_SECONDS)
