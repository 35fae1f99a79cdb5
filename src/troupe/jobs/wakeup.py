"""Waking idle workers the moment a job can be claimed: on PostgreSQL a LISTEN on the jobs
channel, which every enqueue and hand-back NOTIFYs in its own transaction; on SQLite, which has
no such thing, a cheap look every fraction of a second at whether anything was committed."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from sqlalchemy import make_url

from troupe.store.db import JOBS_CHANNEL

log = logging.getLogger(__name__)

_RECONNECT_SECONDS = 1.0


class _WakeThread:
    """A thread that calls `wake` whenever `_watch` sees that a job may have become claimable,
    and watches again, after a pause, when the connection it watches through fails."""

    name: str  # the thread's
    failure: str  # logged when the watch fails

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._watch()
            except Exception:
                log.exception(self.failure)
                self._stopping.wait(_RECONNECT_SECONDS)

    def _watch(self) -> None:
        raise NotImplementedError


class JobListener(_WakeThread):
    """Holds one PostgreSQL connection that LISTENs and calls `wake` at each notification (and
    once after every reconnect, for what it may have missed)."""

    name = "troupe-listen"
    failure = "listening for new jobs failed; reconnecting"

    def __init__(self, database_url: str, wake: Callable[[], None]) -> None:
        super().__init__(wake)
        url = make_url(database_url).set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)

    def _watch(self) -> None:
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            connection.execute(f"LISTEN {JOBS_CHANNEL}")
            self.wake()
            while not self._stopping.is_set():
                for _ in connection.notifies(timeout=0.5, stop_after=1):
                    self.wake()


class CommitWatcher(_WakeThread):
    """Asks an SQLite database every `interval` seconds whether any connection, in this
    process or another, has committed since it last asked, and calls `wake` when one has (and
    once at the start). Idle workers then claim only after a change: before, each of a
    server's threads ran a claim query every half second, 1 % of a core per idle server.

    `PRAGMA data_version` answers from the database's shared memory without reading a table;
    it changes with every commit made by any connection but its own, which never writes."""

    name = "troupe-commits"
    failure = "watching the database for new jobs failed; reopening it"

    def __init__(self, path: str, wake: Callable[[], None], interval: float) -> None:
        super().__init__(wake)
        self.path = path
        self.interval = interval

    def _watch(self) -> None:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            seen = None
            while not self._stopping.is_set():
                (version,) = connection.execute("PRAGMA data_version").fetchone()
                if version != seen:
                    seen = version
                    self.wake()
                self._stopping.wait(self.interval)
        finally:
            connection.close()
