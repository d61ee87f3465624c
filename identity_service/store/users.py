"""SQL for users. Every function takes the connection, then the tenant; none
commits."""

import uuid
from typing import Any

import sqlalchemy as sa

from identity_service.domain.errors import ExternalIdTaken, UserNameTaken
from identity_service.domain.models import TenantRef, User, UserState
from identity_service.store import filters, paging
from identity_service.store.engine import Prepared, fold
from identity_service.store.errors import unique_violation
from identity_service.store.resources import Resources
from identity_service.store.schema import UserRow, as_utc, emails_key

users = UserRow.__table__  # type: ignore[attr-defined]
_c = users.c

ORDERABLE: dict[str, paging.Orderable] = {
    "user_name": _c.user_name_key,
    "display_name": paging.missing_last(_c.display_name_key),
    "external_id": paging.missing_last(_c.external_id),
    "create_time": _c.create_time,
    "update_time": _c.update_time,
}


# Built once: composing a statement per call costs more than running it.
# The columns to write come with the parameters (the keys of `_columns`);
# the WHERE parameters are named apart from every column, which the SET
# clause would otherwise claim.
_WRITTEN = (
    "user_name",
    "user_name_key",
    "external_id",
    "display_name",
    "display_name_key",
    "state",
    "attributes",
    "emails_key",
    "version",
    "update_time",
    "deactivate_time",
    "delete_time",
)
_INSERT = Prepared(users.insert(), (*_WRITTEN, "tenant_id", "id", "create_time"))
_SAVE = Prepared(
    users.update().where(
        _c.tenant_id == sa.bindparam("where_tenant_id"), _c.id == sa.bindparam("where_id")
    ),
    (*_WRITTEN, "where_tenant_id", "where_id"),
)


def _to_user(row: Any, tenant: TenantRef) -> User:
    return User(
        id=row.id,
        tenant_slug=tenant.slug,
        user_name=row.user_name,
        external_id=row.external_id,
        display_name=row.display_name,
        state=UserState(row.state),
        attributes=dict(row.attributes),
        version=row.version,
        create_time=as_utc(row.create_time),  # type: ignore[arg-type]
        update_time=as_utc(row.update_time),  # type: ignore[arg-type]
        deactivate_time=as_utc(row.deactivate_time),
        delete_time=as_utc(row.delete_time),
    )


def _columns(user: User) -> dict[str, Any]:
    """The stored form of a user's writable and lifecycle fields."""
    values = (
        user.user_name,
        fold(user.user_name),
        user.external_id,
        user.display_name,
        fold(user.display_name) if user.display_name else None,
        user.state.value,
        user.attributes,
        emails_key(user.attributes),
        user.version,
        user.update_time,
        user.deactivate_time,
        user.delete_time,
    )
    return dict(zip(_WRITTEN, values, strict=True))


def _translate(exc: sa.exc.IntegrityError, user: User) -> Exception:
    error = unique_violation(
        exc,
        {
            "user_name": UserNameTaken(f"userName {user.user_name!r} is taken"),
            "external_id": ExternalIdTaken(f"externalId {user.external_id!r} is taken"),
        },
    )
    return error or exc


def new_id() -> str:
    return str(uuid.uuid4())


def insert(conn: sa.Connection, tenant: TenantRef, user: User) -> None:
    values = _columns(user)
    values.update(tenant_id=tenant.id, id=user.id, create_time=user.create_time)
    try:
        _INSERT.run(conn, values)
    except sa.exc.IntegrityError as exc:
        raise _translate(exc, user) from exc


def save(conn: sa.Connection, tenant: TenantRef, user: User) -> None:
    """Write a changed user back (the caller has checked the version)."""
    values = _columns(user)
    values.update(where_tenant_id=tenant.id, where_id=user.id)
    try:
        _SAVE.run(conn, values)
    except sa.exc.IntegrityError as exc:
        raise _translate(exc, user) from exc


resources = Resources(users, _to_user, filters.user_filter, ORDERABLE)
get = resources.get
get_many = resources.get_many
live_ids = resources.live_ids
count = resources.count
list_page = resources.list_page


_REFRESH_EMAILS_KEY = (
    users.update()
    .where(
        _c.tenant_id == sa.bindparam("t"),
        _c.id == sa.bindparam("i"),
        _c.version == sa.bindparam("v"),
    )
    .values(emails_key=sa.bindparam("k"))
)


def refresh_emails_keys(
    conn: sa.Connection, after: tuple[int, str], limit: int
) -> tuple[int, tuple[int, str] | None]:
    """Recompute emails_key for up to `limit` users after (tenant_id, id),
    each unless it changed since it was read; how many were stale, and the
    key to continue after (None at the end)."""
    rows = conn.execute(
        sa.select(_c.tenant_id, _c.id, _c.version, _c.attributes, _c.emails_key)
        .where(sa.tuple_(_c.tenant_id, _c.id) > sa.tuple_(*after))
        .order_by(_c.tenant_id, _c.id)
        .limit(limit)
    ).all()
    stale = [
        {"t": row.tenant_id, "i": row.id, "v": row.version, "k": key}
        for row in rows
        if (key := emails_key(row.attributes)) != row.emails_key
    ]
    if stale:
        conn.execute(_REFRESH_EMAILS_KEY, stale)
    last = (rows[-1].tenant_id, rows[-1].id) if len(rows) == limit else None
    return len(stale), last
