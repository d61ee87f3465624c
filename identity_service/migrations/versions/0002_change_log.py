"""change log: the changes table and the per-tenant change counter

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("change_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "changes",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("resource_type", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.String(length=63), nullable=False),
        sa.Column("resource", sa.String(length=256), nullable=False),
        sa.Column("snapshot", _JSON, nullable=False),
        sa.Column("changed_fields", _JSON, nullable=False),
        sa.Column("actor", _JSON, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("commit_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "seq"),
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_changes_resource", ["tenant_id", "resource_type", "resource_id", "seq"]
        )
        batch_op.create_index("ix_changes_commit_time", ["commit_time"])


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index("ix_changes_commit_time")
        batch_op.drop_index("ix_changes_resource")
    op.drop_table("changes")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("change_seq")
