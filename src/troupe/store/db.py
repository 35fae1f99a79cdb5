"""Database engine, sessions, and schema upgrades with Alembic on start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, make_url, text
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


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
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


class Database:
    """The engine plus a session factory; `transaction()` is the unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

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
