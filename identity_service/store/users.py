"""SQL for users. Every function takes the connection, then the tenant; none
commits."""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from identity_service.domain.errors import ExternalIdTaken, UserNameTaken
from identity_service.domain.models import TenantRef, User, UserState
from identity_service.store import filters, paging
from identity_service.store.engine import fold
from identity_service.store.errors import unique_violation
from identity_service.store.schema import UserRow, as_utc

users = UserRow.__table__  # type: ignore[attr-defined]
_c = users.c

ORDERABLE: dict[str, sa.ColumnElement[Any]] = {
    "user_name": _c.user_name_key,
    "display_name": sa.func.coalesce(_c.display_name_key, ""),
    "external_id": sa.func.coalesce(_c.external_id, ""),
    "create_time": _c.create_time,
    "update_time": _c.update_time,
}


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
    return {
        "user_name": user.user_name,
        "user_name_key": fold(user.user_name),
        "external_id": user.external_id,
        "display_name": user.display_name,
        "display_name_key": fold(user.display_name) if user.display_name else None,
        "state": user.state.value,
        "attributes": user.attributes,
        "version": user.version,
        "update_time": user.update_time,
        "deactivate_time": user.deactivate_time,
        "delete_time": user.delete_time,
    }


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
    values = _columns(user) | {"tenant_id": tenant.id, "id": user.id}
    values["create_time"] = user.create_time
    try:
        conn.execute(users.insert().values(values))
    except sa.exc.IntegrityError as exc:
        raise _translate(exc, user) from exc


def save(conn: sa.Connection, tenant: TenantRef, user: User) -> None:
    """Write a changed user back (the caller has checked the version)."""
    try:
        conn.execute(
            users.update().where(_c.tenant_id == tenant.id, _c.id == user.id).values(_columns(user))
        )
    except sa.exc.IntegrityError as exc:
        raise _translate(exc, user) from exc


# Built once: composing a statement per call costs more than running it.
_GET = sa.select(users).where(
    _c.tenant_id == sa.bindparam("tenant_id"), _c.id == sa.bindparam("user_id")
)
_GET_FOR_UPDATE = _GET.with_for_update()


def get(
    conn: sa.Connection, tenant: TenantRef, user_id: str, *, for_update: bool = False
) -> User | None:
    query = _GET_FOR_UPDATE if for_update else _GET
    row = conn.execute(query, {"tenant_id": tenant.id, "user_id": user_id}).first()
    return _to_user(row, tenant) if row else None


def get_many(conn: sa.Connection, tenant: TenantRef, user_ids: Sequence[str]) -> dict[str, User]:
    """Live users among `user_ids`, by id."""
    rows = conn.execute(
        sa.select(users).where(
            _c.tenant_id == tenant.id, _c.id.in_(list(user_ids)), _c.delete_time.is_(None)
        )
    )
    return {row.id: _to_user(row, tenant) for row in rows}


def live_ids(conn: sa.Connection, tenant: TenantRef, user_ids: Sequence[str]) -> set[str]:
    rows = conn.execute(
        sa.select(_c.id).where(
            _c.tenant_id == tenant.id, _c.id.in_(list(user_ids)), _c.delete_time.is_(None)
        )
    )
    return set(rows.scalars())


def _where(tenant: TenantRef, expression: str, show_deleted: bool) -> list[Any]:
    where: list[Any] = [_c.tenant_id == tenant.id]
    if not show_deleted:
        where.append(_c.delete_time.is_(None))
    if expression:
        where.append(filters.user_filter(expression))
    return where


def count(conn: sa.Connection, tenant: TenantRef, expression: str, show_deleted: bool) -> int:
    where = _where(tenant, expression, show_deleted)
    return conn.execute(sa.select(sa.func.count()).select_from(users).where(*where)).scalar_one()


def list_page(
    conn: sa.Connection,
    tenant: TenantRef,
    *,
    expression: str,
    order_by: str,
    show_deleted: bool,
    limit: int,
    offset: int,
    after: paging.Key | None,
) -> tuple[list[Any], paging.Key | None]:
    """One page, and the sort key to continue after (None on the last page)."""
    keys = paging.parse_order_by(order_by, ORDERABLE, _c.id)
    query = sa.select(users).where(*_where(tenant, expression, show_deleted))
    rows, next_key = paging.fetch_page(conn, query, keys, limit=limit, offset=offset, after=after)
    return [_to_user(r, tenant) for r in rows], next_key
