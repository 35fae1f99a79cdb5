"""Database engine, sessions, and schema upgrades with Alembic on start."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# PostgreSQL advisory lock key that every troupe process takes around schema upgrades ("troupe").
MIGRATION_LOCK_KEY = 0x74726F757065
# The first of the two keys of an owner's advisory lock ("ownr"); the second is a hash of the
# owner. Two-key locks never collide with the one-key migration lock.
OWNER_LOCK_SPACE = 0x6F776E72
# How long a transaction waits for this process's other writers before it writes anyway (and
# SQLite's own busy_timeout takes over): as long as that timeout.
WRITER_WAIT_SECONDS = 30.0
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# The newest migration. A database already there is not handed to Alembic, whose import and
# reading of its scripts took 0.1 s of every process start (each CLI command, worker, restart).
SCHEMA_HEAD = "0006"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    from troupe.store.tables import describe_for_postgresql  # the tables, only once needed

    describe_for_postgresql()
    return create_engine(url, pool_pre_ping=True)


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the API read while a worker writes; busy_timeout makes writers wait, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(url: str) -> Config:
    # Alembic is imported only where a schema is upgraded: it is no part of answering requests.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str) -> None:
    """Bring the schema to head.

    Several servers sharing one PostgreSQL may start at once; without turns, both would create
    the tables of an empty database and all but one would crash on duplicate names. A
    session-level advisory lock, held on its own connection while Alembic runs, serialises them;
    the later ones then find the schema at head and do nothing.
    """
    if schema_version(url) == SCHEMA_HEAD:
        return
    from alembic import command

    if make_url(url).get_backend_name() != "postgresql":
        command.upgrade(alembic_config(url), "head")
        return
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                command.upgrade(alembic_config(url), "head")
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
    finally:
        engine.dispose()


def schema_version(url: str) -> str | None:
    """The migration a database was last brought to, or None (no schema yet)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            return version.scalar()
    except DBAPIError:
        return None
    finally:
        engine.dispose()


class WriterQueue:
    """SQLite has one writer at a time. Its busy handler makes a second writer sleep and retry,
    in naps that grow to 100 ms, so under a burst of writes from this process's threads a few
    waited most of a second (issue 23: p99 0.9 s for POST /v1/videos). Here a transaction takes
    a lock before its first write and keeps it until it has committed or rolled back: this
    process's writers queue in turn, and SQLite's busy handler is left to other processes.

    Only transactions opened by `Database.transaction` take part, one lock per thread at most:
    a transaction nested in one that writes does not wait for it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextmanager
    def scope(self) -> Iterator[None]:
        scopes: list[bool] = self._local.__dict__.setdefault("scopes", [])
        scopes.append(False)
        try:
            yield
        finally:
            if scopes.pop():
                self._lock.release()

    def before_statement(self, statement: str) -> None:
        scopes: list[bool] | None = getattr(self._local, "scopes", None)
        if not scopes or any(scopes) or not statement.lstrip()[:7].upper().startswith(WRITES):
            return
        scopes[-1] = self._lock.acquire(timeout=WRITER_WAIT_SECONDS)


class Database:
    """The engine plus a session factory; `transaction()` is the unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = WriterQueue() if self.engine.dialect.name == "sqlite" else None
        if self._writers is not None:
            event.listen(self.engine, "before_cursor_execute", self._before_statement)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        if self._writers is None:
            with self._sessions.begin() as session:
                yield session
            return
        with self._writers.scope(), self._sessions.begin() as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A transaction for reading only, whose statements all see the database at one moment.

        A plain transaction does not: PostgreSQL's READ COMMITTED gives each statement its own
        view, and Python's sqlite3 begins a transaction only at the first write, so each read
        is its own. A total read beside a page could then count a job as held while the page
        already showed its refund.
        """
        with self._sessions.begin() as session:
            if self.is_postgresql:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            else:
                session.execute(text("BEGIN"))  # deferred: the view is taken at the first read
            yield session

    @contextmanager
    def single_read(self) -> Iterator[Session]:
        """A session for one read statement, which sees the database at one moment by itself:
        no explicit transaction is begun for it, as `snapshot` must for several (on SQLite that
        BEGIN was a tenth of a list's CPU). Closed with a rollback; it must not write."""
        with self._sessions() as session:
            yield session

    def _before_statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        assert self._writers is not None
        self._writers.before_statement(statement)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def dispose(self) -> None:
        self.engine.dispose()


# Told of every job that becomes claimable (queued or handed back), on PostgreSQL.
JOBS_CHANNEL = "troupe_jobs"


def notify_jobs(session: Session) -> None:
    """On PostgreSQL, NOTIFY JOBS_CHANNEL as the session's transaction commits (listeners hear
    nothing of one that rolls back); elsewhere nothing: SQLite's workers poll."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {JOBS_CHANNEL}"))


def lock_owner(session: Session, owner: str) -> None:
    """Make the session's transaction the only one that may change `owner`'s jobs until it ends,
    so a count it reads stays true until its insert commits.

    On PostgreSQL, a transaction-level advisory lock on the owner (an owner need not have an
    account row to lock). SQLite has one writer at a time: a write that changes nothing takes
    that lock now, waiting on busy_timeout, where a read would let two transactions count the
    same rows before either writes.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:owner))"),
            {"space": OWNER_LOCK_SPACE, "owner": owner},
        )
    else:
        session.execute(text("UPDATE accounts SET owner = owner WHERE 0"))
