"""users.emails_key: the folded email values a filter on emails scans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000
_SEPARATOR = "\x1f"


def _key(attributes: Any) -> str | None:
    # As store.schema.emails_key computed it when this migration was written.
    if isinstance(attributes, str):
        attributes = json.loads(attributes)
    emails = attributes.get("emails") if isinstance(attributes, dict) else None
    if not isinstance(emails, list):
        return None
    values = [
        unicodedata.normalize("NFC", e["value"]).casefold()
        for e in emails
        if isinstance(e, dict) and isinstance(e.get("value"), str)
    ]
    return _SEPARATOR + _SEPARATOR.join(values) + _SEPARATOR if values else None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emails_key", sa.Text(), nullable=True))
    users = sa.table(
        "users",
        sa.column("tenant_id", sa.Integer()),
        sa.column("id", sa.String()),
        sa.column("attributes"),
        sa.column("emails_key", sa.Text()),
    )
    conn = op.get_bind()
    after: tuple[int, str] = (-1, "")
    while True:
        rows = conn.execute(
            sa.select(users.c.tenant_id, users.c.id, users.c.attributes)
            .where(sa.tuple_(users.c.tenant_id, users.c.id) > sa.tuple_(*after))
            .order_by(users.c.tenant_id, users.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        keys = [
            {"t": row.tenant_id, "i": row.id, "k": key}
            for row in rows
            if (key := _key(row.attributes)) is not None
        ]
        if keys:
            conn.execute(
                users.update()
                .where(users.c.tenant_id == sa.bindparam("t"), users.c.id == sa.bindparam("i"))
                .values(emails_key=sa.bindparam("k")),
                keys,
            )
        after = (rows[-1].tenant_id, rows[-1].id)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("emails_key")
