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


class CommitWatcher:
    """A thread that asks an SQLite database every `interval` seconds whether any connection,
    in this process or another, has committed since it last asked, and calls `wake` when one
    has (and once at the start). Idle workers then claim only after a change: before, each of
    a server's threads ran a claim query every half second, 1 % of a core per idle server.

    `PRAGMA data_version` answers from the database's shared memory without reading a table;
    it changes with every commit made by any connection but its own, which never writes."""

    def __init__(self, path: str, wake: Callable[[], None], interval: float) -> None:
        self.path = path
        self.wake = wake
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="troupe-commits", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._watch()
            except sqlite3.Error:
                log.exception("watching the database for new jobs failed; reopening it")
                self._stopping.wait(_RECONNECT_SECONDS)

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
