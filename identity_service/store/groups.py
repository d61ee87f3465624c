"""SQL for groups (not their members: see store.members). Every function takes
the connection, then the tenant; none commits."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from identity_service.domain.errors import ExternalIdTaken, GroupNameTaken
from identity_service.domain.models import Group, TenantRef
from identity_service.store import filters, paging
from identity_service.store.engine import fold
from identity_service.store.errors import unique_violation
from identity_service.store.resources import Resources
from identity_service.store.schema import GroupRow, as_utc

groups = GroupRow.__table__  # type: ignore[attr-defined]
_c = groups.c

ORDERABLE: dict[str, paging.Orderable] = {
    "display_name": _c.display_name_key,
    "external_id": paging.missing_last(_c.external_id),
    "create_time": _c.create_time,
    "update_time": _c.update_time,
}


# Built once: composing a statement per call costs more than running it.
# The columns to write come with the parameters (the keys of `_columns`);
# the WHERE parameters are named apart from every column, which the SET
# clause would otherwise claim.
_INSERT = groups.insert()
_SAVE = groups.update().where(
    _c.tenant_id == sa.bindparam("where_tenant_id"), _c.id == sa.bindparam("where_id")
)
_ADD_TO_COUNT = (
    groups.update()
    .where(
        _c.tenant_id == sa.bindparam("where_tenant_id"),
        _c.id.in_(sa.bindparam("group_ids", expanding=True)),
    )
    .values(
        member_count=_c.member_count + sa.bindparam("delta"),
        version=_c.version + 1,
        update_time=sa.bindparam("at"),
    )
)


def _to_group(row: Any, tenant: TenantRef) -> Group:
    return Group(
        id=row.id,
        tenant_slug=tenant.slug,
        display_name=row.display_name,
        external_id=row.external_id,
        member_count=row.member_count,
        version=row.version,
        create_time=as_utc(row.create_time),  # type: ignore[arg-type]
        update_time=as_utc(row.update_time),  # type: ignore[arg-type]
        delete_time=as_utc(row.delete_time),
    )


def _columns(group: Group) -> dict[str, Any]:
    return {
        "display_name": group.display_name,
        "display_name_key": fold(group.display_name),
        "external_id": group.external_id,
        "member_count": group.member_count,
        "version": group.version,
        "update_time": group.update_time,
        "delete_time": group.delete_time,
    }


def _translate(exc: sa.exc.IntegrityError, group: Group) -> Exception:
    error = unique_violation(
        exc,
        {
            "display_name": GroupNameTaken(f"displayName {group.display_name!r} is taken"),
            "external_id": ExternalIdTaken(f"externalId {group.external_id!r} is taken"),
        },
    )
    return error or exc


def insert(conn: sa.Connection, tenant: TenantRef, group: Group) -> None:
    values = _columns(group)
    values.update(tenant_id=tenant.id, id=group.id, create_time=group.create_time)
    try:
        conn.execute(_INSERT, values)
    except sa.exc.IntegrityError as exc:
        raise _translate(exc, group) from exc


def save(conn: sa.Connection, tenant: TenantRef, group: Group) -> None:
    """Write back a group loaded in this transaction (locked for update)."""
    values = _columns(group)
    values.update(where_tenant_id=tenant.id, where_id=group.id)
    try:
        conn.execute(_SAVE, values)
    except sa.exc.IntegrityError as exc:
        raise _translate(exc, group) from exc


def add_to_count(
    conn: sa.Connection, tenant: TenantRef, group_ids: list[str], delta: int, at: datetime
) -> None:
    """Count `delta` more members in each group, as a new version of it."""
    if delta and group_ids:
        conn.execute(
            _ADD_TO_COUNT,
            {"where_tenant_id": tenant.id, "group_ids": group_ids, "delta": delta, "at": at},
        )


resources = Resources(groups, _to_group, filters.group_filter, ORDERABLE)
get = resources.get
get_many = resources.get_many
live_ids = resources.live_ids
count = resources.count
list_page = resources.list_page
