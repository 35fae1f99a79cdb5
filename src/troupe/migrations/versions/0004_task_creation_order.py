"""task creation order, for listing tasks

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("created_ns", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_index("ix_tasks_owner_created", ["owner", "created_ns"], unique=False)
    op.execute("UPDATE tasks SET created_ns = CAST(created_at AS BIGINT) * 1000000000")


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_owner_created")
        batch_op.drop_column("created_ns")
