"""SQL for users. Every function takes the connection, then the tenant; none
commits."""

import uuid
from typing import Any

import sqlalchemy as sa

from identity_service.domain.errors import ExternalIdTaken, UserNameTaken
from identity_service.domain.models import TenantRef, User, UserState
from identity_service.store import filters, paging
from identity_service.store.engine import fold
from identity_service.store.errors import unique_violation
from identity_service.store.resources import Resources
from identity_service.store.schema import UserRow, as_utc

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
_INSERT = users.insert()
_SAVE = users.update().where(
    _c.tenant_id == sa.bindparam("where_tenant_id"), _c.id == sa.bindparam("where_id")
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
    values = _columns(user)
    values.update(tenant_id=tenant.id, id=user.id, create_time=user.create_time)
    try:
        conn.execute(_INSERT, values)
    except sa.exc.IntegrityError as exc:
        raise _translate(exc, user) from exc


def save(conn: sa.Connection, tenant: TenantRef, user: User) -> None:
    """Write a changed user back (the caller has checked the version)."""
    values = _columns(user)
    values.update(where_tenant_id=tenant.id, where_id=user.id)
    try:
        conn.execute(_SAVE, values)
    except sa.exc.IntegrityError as exc:
        raise _translate(exc, user) from exc


resources = Resources(users, _to_user, filters.user_filter, ORDERABLE)
get = resources.get
get_many = resources.get_many
live_ids = resources.live_ids
count = resources.count
list_page = resources.list_page
