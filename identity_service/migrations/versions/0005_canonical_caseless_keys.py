"""Comparison keys become canonical caseless matches: NFC(casefold(NFD(s)))

Every stored key (users.user_name_key, users.display_name_key,
users.emails_key, groups.display_name_key) is recomputed. A tenant whose
live users (or groups) would share a key under the new function stops the
migration: it rolls back, changing nothing, and the error names every such
set of ids so an operator can rename or delete all but one with the release
still running (docs/decisions/0016).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import json
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000
_SEPARATOR = "\x1f"
_LIVE = sa.text("delete_time IS NULL")
Fold = Callable[[str], str]


def _canonical_caseless(text: str) -> str:
    # As store.engine.fold computed it when this migration was written.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


def _nfc_casefold(text: str) -> str:
    # The key function of revisions 0001-0003.
    return unicodedata.normalize("NFC", text).casefold()


def _emails_key(fold: Fold, attributes: Any) -> str | None:
    if isinstance(attributes, str):
        attributes = json.loads(attributes)
    emails = attributes.get("emails") if isinstance(attributes, dict) else None
    if not isinstance(emails, list):
        return None
    values = [
        fold(e["value"]) for e in emails if isinstance(e, dict) and isinstance(e.get("value"), str)
    ]
    return _SEPARATOR + _SEPARATOR.join(values) + _SEPARATOR if values else None


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, sa.column("tenant_id"), sa.column("id"), *map(sa.column, columns))


_USERS = _table("users", "user_name", "user_name_key", "display_name", "display_name_key")
_USERS.append_column(sa.column("attributes"))
_USERS.append_column(sa.column("emails_key"))
_GROUPS = _table("groups", "display_name", "display_name_key")


def _user_keys(fold: Fold, row: Any) -> dict[str, Any]:
    return {
        "user_name_key": fold(row.user_name),
        "display_name_key": fold(row.display_name) if row.display_name else None,
        "emails_key": _emails_key(fold, row.attributes),
    }


def _group_keys(fold: Fold, row: Any) -> dict[str, Any]:
    return {"display_name_key": fold(row.display_name)}


def _rekey(table: sa.TableClause, keys: Callable[[Any], dict[str, Any]]) -> None:
    """Write the new keys of every row whose keys change, in batches."""
    conn = op.get_bind()
    names = [column.name for column in table.c if column.name.endswith("_key")]
    update = (
        table.update()
        .where(table.c.tenant_id == sa.bindparam("t"), table.c.id == sa.bindparam("i"))
        .values({name: sa.bindparam(f"new_{name}") for name in names})
    )
    after: tuple[int, str] = (-1, "")
    while rows := conn.execute(
        sa.select(table)
        .where(sa.tuple_(table.c.tenant_id, table.c.id) > sa.tuple_(*after))
        .order_by(table.c.tenant_id, table.c.id)
        .limit(_BATCH)
    ).all():
        changed = [
            {"t": row.tenant_id, "i": row.id, **{f"new_{k}": v for k, v in new.items()}}
            for row in rows
            if (new := keys(row)) != {name: getattr(row, name) for name in names}
        ]
        if changed:
            conn.execute(update, changed)
        after = (rows[-1].tenant_id, rows[-1].id)


def _refuse_collisions(table: sa.TableClause, key: str) -> None:
    """Stop (the whole migration rolls back) if live rows of a tenant share a key."""
    column = table.c[key]
    shared = (
        sa.select(table.c.tenant_id, column)
        .where(_LIVE)
        .group_by(table.c.tenant_id, column)
        .having(sa.func.count() > 1)
    )
    clashes = (
        op.get_bind()
        .execute(
            sa.select(table.c.tenant_id, table.c.id, table.c[key.removesuffix("_key")])
            .where(_LIVE, sa.tuple_(table.c.tenant_id, column).in_(shared))
            .order_by(table.c.tenant_id, column, table.c.id)
        )
        .all()
    )
    if clashes:
        listed = "; ".join(f"tenant {t} {table.name} {i} {n!r}" for t, i, n in clashes)
        raise RuntimeError(
            f"live {table.name} of one tenant would share a key; rename or delete all but"
            f" one of each, then migrate again (nothing was changed): {listed}"
        )


def _migrate(fold: Fold) -> None:
    """Recompute every key with `fold` under dropped unique indexes (a row's
    new key may be another's old one), then check and restore them."""
    unique = (
        ("users", "uq_users_live_user_name", "user_name_key"),
        ("groups", "uq_groups_live_display_name", "display_name_key"),
    )
    for table, index, _key in unique:
        op.drop_index(index, table_name=table)
    _rekey(_USERS, lambda row: _user_keys(fold, row))
    _rekey(_GROUPS, lambda row: _group_keys(fold, row))
    _refuse_collisions(_USERS, "user_name_key")
    _refuse_collisions(_GROUPS, "display_name_key")
    for table, index, key in unique:
        op.create_index(
            index,
            table,
            ["tenant_id", key],
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        )


def upgrade() -> None:
    _migrate(_canonical_caseless)


def downgrade() -> None:
    _migrate(_nfc_casefold)
