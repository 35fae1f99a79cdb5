"""troupe on PostgreSQL: the schema Alembic builds, its indexes and JSON, and live servers.

Each test gets a fresh database in one throwaway cluster (tests/postgres.py); the job queue's
guarantees are tested on PostgreSQL and SQLite alike in tests/jobs/test_queue.py. Without the
PostgreSQL server binaries or psycopg these tests are skipped with the command that installs
them.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import StartServer
from tests.support import MediaServer, ServerProcess, assert_deletes, start_slow_task, wait_for_task
from troupe.store import repo
from troupe.store.db import Database, upgrade_database
from troupe.store.tables import Base, Character, Job

LEASE_SECONDS = 2


@pytest.fixture
def db(postgres_url: str) -> Iterator[Database]:
    upgrade_database(postgres_url)
    database = Database(postgres_url)
    yield database
    database.dispose()


def make_character(character_id: str, username: str, **fields: Any) -> Character:
    values: dict[str, Any] = {
        "owner": "o",
        "display_name": username,
        "created_at": 1,
        "created_ns": 1_000_000_000,
        "source": {},
        "quality": {},
        "blobs": {},
        **fields,
    }
    return Character(id=character_id, username=username, **values)


# --- schema ---------------------------------------------------------------------------


def test_upgrade_builds_exactly_the_models(postgres_url: str) -> None:
    upgrade_database(postgres_url)
    upgrade_database(postgres_url)  # a second start finds nothing to do
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            inspector = inspect(connection)
            tables = set(inspector.get_table_names())
            indexes = {index["name"]: index for index in inspector.get_indexes("characters")}
            columns = {column["name"]: column for column in inspector.get_columns("characters")}
    finally:
        engine.dispose()
    assert diff == []
    assert {"api_keys", "tasks", "jobs", "characters", "alembic_version"} <= tables
    live_username = indexes["uq_characters_live_username"]
    assert live_username["unique"] and live_username["column_names"] == ["username"]
    where = live_username["dialect_options"]["postgresql_where"]
    assert where.replace("(", "").replace(")", "") == "deleted_at IS NULL"
    assert type(columns["quality"]["type"]).__name__ == "JSON"


def test_servers_starting_together_upgrade_an_empty_database_once(postgres_url: str) -> None:
    """Several processes upgrading one empty database at once all succeed (advisory lock)."""
    script = (
        "import sys; from troupe.store.db import upgrade_database; upgrade_database(sys.argv[1])"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, postgres_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120)[0].decode() for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_live_username_index_allows_reuse_only_after_deletion(db: Database) -> None:
    with db.transaction() as session:
        repo.insert_character(session, make_character("char_a", "mascot", deleted_at=5))
        repo.insert_character(session, make_character("char_b", "mascot"))
    with pytest.raises(IntegrityError), db.transaction() as session:
        repo.insert_character(session, make_character("char_c", "mascot"))
    with db.transaction() as session:
        assert repo.username_in_use(session, "MASCOT")
        found = repo.get_character(session, "o", "@mascot")
        assert found is not None and found.id == "char_b"


def test_json_columns_round_trip(db: Database) -> None:
    request = {"source": {"type": "url", "url": "https://x/é.mp4"}, "timestamps": "0,1.5"}
    quality = {"sharpness": 0.82, "subject_box": [1, 2, 3, 4], "warnings": [], "note": None}
    with db.transaction() as session:
        repo.create_task(
            session, task_id="task_j", owner="o", kind="character", model="m", request=request
        )
        repo.insert_character(session, make_character("char_j", "json_one", quality=quality))
    with db.transaction() as session:
        task = repo.get_task_by_id(session, "task_j")
        character = repo.get_character(session, "o", "char_j")
    assert task is not None and task.request == request
    assert character is not None and character.quality == quality


def test_list_pagination_and_prefix_search(db: Database) -> None:
    # Same creation time everywhere: the id must break ties consistently across pages.
    names = [f"pg_{index}" for index in range(5)]
    with db.transaction() as session:
        for index, name in enumerate(names):
            repo.insert_character(session, make_character(f"char_{index}", name, created_ns=7))
        repo.insert_character(session, make_character("char_x", "pgx_decoy", created_ns=7))
        repo.insert_character(session, make_character("char_y", "pg_gone", deleted_at=8))

    def walk(order: str) -> list[str]:
        seen: list[str] = []
        after = None
        while True:
            with db.transaction() as session:
                page = repo.list_character_keys(
                    session, "o", after=after, limit=2, order=order, query="PG_"
                )
            seen += [ident for ident, _ in page.rows]
            if not page.has_more:
                return seen
            after = seen[-1]

    descending, ascending = walk("desc"), walk("asc")
    assert sorted(descending) == [f"char_{index}" for index in range(5)], "`_` is literal"
    assert descending == ascending[::-1] == sorted(descending, reverse=True)


# --- live servers ---------------------------------------------------------------------


def pg_env(postgres_url: str) -> dict[str, str]:
    return {"TROUPE_DATABASE_URL": postgres_url, "TROUPE_JOB_LEASE_SECONDS": str(LEASE_SECONDS)}


def create(client: httpx.Client, media: MediaServer, **fields: Any) -> httpx.Response:
    return client.post(
        "/v1/characters", json={"url": media.url("small.mp4"), "timestamps": "0,1.5", **fields}
    )


def test_live_server_creates_reads_lists_and_deletes(
    make_server: StartServer, media: MediaServer, postgres_url: str
) -> None:
    server = make_server(pg_env(postgres_url))
    assert not (server.data_dir / "troupe.db").exists(), "the server must not fall back to SQLite"
    with server.client() as client:
        made = []
        for index in range(3):
            response = create(client, media, username=f"pg_live_{index}", name=f"Live {index}")
            assert response.status_code == 200, response.text
            made.append(response.json())
        decoy = create(client, media, username="pgxlive")
        assert decoy.status_code == 200, decoy.text
        character = made[0]
        assert character["quality"]["resolution"] == "640x360"
        assert character["source"]["url"] == media.url("small.mp4")

        assert client.get(f"/v1/characters/{character['id']}").json() == character
        assert client.get("/v1/characters/@pg_live_0").json() == character
        assert client.get(character["profile_picture_url"]).status_code == 200

        full = client.get("/v1/characters", params={"q": "pg_live_", "limit": 10}).json()
        assert [row["id"] for row in full["data"]] == [row["id"] for row in reversed(made)]
        assert full["has_more"] is False
        first = client.get("/v1/characters", params={"q": "pg_live_", "limit": 2}).json()
        assert first["has_more"] is True and first["last_id"] == first["data"][-1]["id"]
        rest = client.get(
            "/v1/characters", params={"q": "pg_live_", "limit": 2, "after": first["last_id"]}
        ).json()
        assert rest["has_more"] is False
        assert [row["id"] for row in first["data"] + rest["data"]] == [
            row["id"] for row in full["data"]
        ]

        taken = create(client, media, username="pg_live_1")
        assert taken.status_code == 409, taken.text
        assert taken.json()["error"]["code"] == "username_taken"
        assert taken.json()["error"]["param"] == "username"

        assert_deletes(client, made[1])
        remaining = client.get("/v1/characters", params={"q": "pg_live_"}).json()["data"]
        assert made[1]["id"] not in [row["id"] for row in remaining] and len(remaining) == 2
        again = create(client, media, username="pg_live_1")
        assert again.status_code == 200, "a deleted character's username is free again"


def test_shared_database_takes_over_a_killed_servers_job_when_its_lease_expires(
    make_server: StartServer, media: MediaServer, postgres_url: str
) -> None:
    env = pg_env(postgres_url)
    first = make_server(env)
    with first.client() as client:
        task_id = start_slow_task(client, media)  # surely running when killed
    first.kill()

    # Another live process shares the data dir (each holds a shared lock for its life): the next
    # server is not alone and does not release the job at once; only the expired lease can.
    with (first.data_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        second = make_server(env)
        assert second.data_dir == first.data_dir
        with second.client() as client:
            done = wait_for_task(client, task_id, timeout=90)
            assert done["status"] == "completed", done
            assert client.get(f"/v1/characters/{done['result']['id']}").status_code == 200
    assert "taking back" not in second.log_path.read_text()
    assert_job_taken_over(postgres_url, task_id, second)


def assert_job_taken_over(postgres_url: str, task_id: str, second: ServerProcess) -> None:
    assert second.process is not None
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            job = connection.execute(select(Job).where(Job.task_id == task_id)).one()
    finally:
        engine.dispose()
    assert job.state == "done" and job.attempts == 2, job
    assert f":{second.process.pid}:" in job.worker_id, "the second server finished the job"
