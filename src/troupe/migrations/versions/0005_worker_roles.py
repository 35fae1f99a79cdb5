"""worker roles: the back end a job needs, and worker heartbeats

Revision ID: 0005
Revises: 0004
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backend", sa.String(length=40), nullable=True))
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("backends", sa.JSON(), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=False),
        sa.Column("running", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workers_seen_at", "workers", ["seen_at"], unique=False)
    _backfill_job_backends()


def _backfill_job_backends() -> None:
    """Unfinished video jobs name the back end their stored request asked for."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT jobs.id, tasks.request FROM jobs JOIN tasks ON tasks.id = jobs.task_id "
            "WHERE jobs.kind = 'video' AND jobs.state != 'done'"
        )
    ).all()
    for job_id, request in rows:
        stored = json.loads(request) if isinstance(request, str) else request
        backend = (stored or {}).get("backend")
        if backend:
            connection.execute(
                sa.text("UPDATE jobs SET backend = :backend WHERE id = :id"),
                {"backend": backend, "id": job_id},
            )


def downgrade() -> None:
    op.drop_index("ix_workers_seen_at", table_name="workers")
    op.drop_table("workers")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("backend")
