"""likeness reviews: parked jobs, reviews of doubtful characters, key rights, attested likeness

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("operator", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("may_attest", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_for", sa.String(length=200), nullable=True))
    with op.batch_alter_table("characters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("likeness", sa.JSON(), nullable=True))
    op.create_table(
        "reviews",
        sa.Column("task_id", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("created_ns", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("why", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"]),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_reviews_owner", "reviews", ["owner"], unique=False)
    op.create_index("ix_reviews_status_expires", "reviews", ["status", "expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reviews_status_expires", table_name="reviews")
    op.drop_index("ix_reviews_owner", table_name="reviews")
    op.drop_table("reviews")
    with op.batch_alter_table("characters", schema=None) as batch_op:
        batch_op.drop_column("likeness")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("waiting_for")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("may_attest")
        batch_op.drop_column("operator")
