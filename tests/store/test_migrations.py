"""The Alembic history builds exactly the schema the tables declare."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from troupe.store.db import SCHEMA_HEAD, alembic_config, schema_version, upgrade_database
from troupe.store.tables import LIVE_USERNAME_INDEX, Base, describe_for_postgresql


def test_upgrade_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade_database(url)
    upgrade_database(url)  # a second start finds nothing to do
    engine = create_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        tables = set(inspect(connection).get_table_names())
    assert diff == []
    assert {"api_keys", "tasks", "jobs", "characters", "alembic_version"} <= tables


def test_schema_head_names_the_newest_migration(tmp_path: Path) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'm.db'}"))
    assert scripts.get_current_head() == SCHEMA_HEAD


def test_a_database_at_head_starts_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert schema_version(url) is None
    probe = f"import sys; from troupe.store.db import upgrade_database; upgrade_database({url!r})"
    probe += "; print('alembic' in sys.modules)"

    def upgrade_loads_alembic() -> str:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert upgrade_loads_alembic() == "True"  # a new database is built by the migrations
    assert schema_version(url) == SCHEMA_HEAD
    assert upgrade_loads_alembic() == "False"


def test_the_models_describe_the_live_username_index_for_postgresql_once_asked() -> None:
    describe_for_postgresql()
    describe_for_postgresql()  # every PostgreSQL engine asks again
    table = Base.metadata.tables["characters"]
    index = next(index for index in table.indexes if index.name == LIVE_USERNAME_INDEX)
    ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
    assert ddl.endswith("ON characters (username) WHERE deleted_at IS NULL")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_tasks_made_before_0004_are_ordered_by_their_second(empty_database_url: str) -> None:
    url = empty_database_url
    command.upgrade(alembic_config(url), "0003")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tasks (id, owner, kind, model, status, progress, request, created_at)"
                " VALUES ('task_old', 'o', 'character', 'sora-2-character', 'completed', 100,"
                " '{}', 1790000000)"
            )
        )
    upgrade_database(url)
    with engine.connect() as connection:
        created_ns = connection.execute(text("SELECT created_ns FROM tasks")).scalar_one()
    assert created_ns == 1_790_000_000 * 1_000_000_000
