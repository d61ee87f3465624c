"""SQL for group membership. A change touches only the rows it changes: one
row per added or removed member, never the whole list."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from identity_service.domain.errors import InvalidPageToken
from identity_service.domain.models import Member, MemberRef, Membership, MemberType, TenantRef
from identity_service.store import paging
from identity_service.store.engine import Prepared
from identity_service.store.groups import groups
from identity_service.store.schema import MembershipRow
from identity_service.store.users import users

members = MembershipRow.__table__  # type: ignore[attr-defined]
_c = members.c
_CHUNK = 1000  # rows per statement, far below SQLite's bound-parameter limit


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


# Built once: composing a statement per call costs more than running it,
# and a multi-row VALUES built per call is a new statement to cache for
# every row count. Many rows go as one executemany, which SQLAlchemy sends
# as multi-row INSERTs ("insertmanyvalues").
_INSERT_IGNORING_DUPLICATES = {
    "postgresql": postgresql.insert(members)
    .on_conflict_do_nothing()
    .returning(_c.member_id, _c.member_type),
    "sqlite": sqlite.insert(members)
    .on_conflict_do_nothing()
    .returning(_c.member_id, _c.member_type),
}
_OF_GROUP = (_c.tenant_id == sa.bindparam("tenant_id"), _c.group_id == sa.bindparam("group_id"))
_REMOVE = (
    members.delete()
    .where(*_OF_GROUP, _c.member_id.in_(sa.bindparam("member_ids", expanding=True)))
    .returning(_c.member_id, _c.member_type)
)
_IDS = sa.select(_c.member_id).where(*_OF_GROUP)
_CLEAR = members.delete().where(*_OF_GROUP)
_LEAVE_ALL = (
    members.delete()
    .where(_c.tenant_id == sa.bindparam("tenant_id"), _c.member_id == sa.bindparam("member_id"))
    .returning(_c.group_id)
)


def add(
    conn: sa.Connection, tenant: TenantRef, group_id: str, refs: Sequence[MemberRef], at: datetime
) -> list[MemberRef]:
    """Insert the members that are not there yet; returns those that were new."""
    insert = _INSERT_IGNORING_DUPLICATES[
        "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    ]
    added: list[MemberRef] = []
    for chunk in _chunks(refs):
        rows = [
            {
                "tenant_id": tenant.id,
                "group_id": group_id,
                "member_id": ref.id,
                "member_type": ref.type.value,
                "create_time": at,
            }
            for ref in chunk
        ]
        inserted = conn.execute(insert, rows)
        added += [MemberRef(MemberType(row.member_type), row.member_id) for row in inserted]
    return added


def remove(
    conn: sa.Connection, tenant: TenantRef, group_id: str, member_ids: Sequence[str]
) -> list[MemberRef]:
    """Delete the named members that are there; returns those that were."""
    removed: list[MemberRef] = []
    for chunk in _chunks(member_ids):
        params = {"tenant_id": tenant.id, "group_id": group_id, "member_ids": list(chunk)}
        deleted = conn.execute(_REMOVE, params)
        removed += [MemberRef(MemberType(row.member_type), row.member_id) for row in deleted]
    return removed


def ids(conn: sa.Connection, tenant: TenantRef, group_id: str) -> set[str]:
    """Every member id of a group (for ReplaceMembers, which must diff)."""
    return set(conn.execute(_IDS, {"tenant_id": tenant.id, "group_id": group_id}).scalars())


def clear(conn: sa.Connection, tenant: TenantRef, group_id: str) -> None:
    conn.execute(_CLEAR, {"tenant_id": tenant.id, "group_id": group_id})


def leave_all(conn: sa.Connection, tenant: TenantRef, member_id: str) -> list[str]:
    """Remove a member from every group it is in; returns those groups' ids.
    One DELETE ... RETURNING: it reaches the rows through the member index,
    whereas SQLite answers a SELECT of group_id by member id alone by scanning
    the tenant's part of the primary key (see _by_member)."""
    deleted = conn.execute(_LEAVE_ALL, {"tenant_id": tenant.id, "member_id": member_id})
    return list(deleted.scalars())


def _display() -> sa.ColumnElement[str]:
    return sa.func.coalesce(users.c.display_name, users.c.user_name, groups.c.display_name, "")


# A page of direct members with their display names, ordered by member id;
# the next page starts after the last id. Built once, like the writes above:
# the join made composing it per call cost more than running it.
_FIRST_PAGE = (
    sa.select(_c.member_id, _c.member_type, _display().label("display"))
    .select_from(
        members.outerjoin(
            users, sa.and_(users.c.tenant_id == _c.tenant_id, users.c.id == _c.member_id)
        ).outerjoin(
            groups, sa.and_(groups.c.tenant_id == _c.tenant_id, groups.c.id == _c.member_id)
        )
    )
    .where(*_OF_GROUP)
    .order_by(_c.member_id)
    .limit(sa.bindparam("limit"))
)
_PAGE = Prepared(_FIRST_PAGE)
_PAGE_AFTER = Prepared(_FIRST_PAGE.where(_c.member_id > sa.bindparam("after")))


def list_page(
    conn: sa.Connection,
    tenant: TenantRef,
    group_id: str,
    *,
    limit: int,
    after: paging.Key | None,
) -> tuple[list[Member], paging.Key | None]:
    """Direct members ordered by id, with their display names, and the key
    to continue after (None on the last page)."""
    params: dict[str, Any] = {"tenant_id": tenant.id, "group_id": group_id, "limit": limit + 1}
    if after is not None:
        if len(after) != 1 or not isinstance(after[0], str):
            raise InvalidPageToken("the page token does not fit this query")
        params["after"] = after[0]
    rows = (_PAGE if after is None else _PAGE_AFTER).rows(conn, params)
    page = [Member(MemberType(r.member_type), r.member_id, r.display) for r in rows[:limit]]
    return page, [page[-1].id] if len(rows) > limit else None


def _by_member(tenant: TenantRef, member: MemberRef) -> sa.Select[tuple[str]]:
    """Ids of the groups `member` is directly in. The member is named by type
    and id: besides being exact, the type keeps SQLite on ix_group_members_member.
    Without it, SQLite (which has no statistics here) prefers the primary-key
    index, which covers group_id, and scans every membership row of the tenant."""
    return sa.select(_c.group_id).where(
        _c.tenant_id == tenant.id, _c.member_id == member.id, _c.member_type == member.type.value
    )


def _ancestors(tenant: TenantRef, member: MemberRef) -> sa.CTE:
    """Ids of the groups `member` is in, directly or through nested groups.
    UNION (not UNION ALL) makes the recursion stop on a cycle."""
    cte = _by_member(tenant, member).cte("ancestors", recursive=True)
    step = sa.select(_c.group_id).where(
        _c.tenant_id == tenant.id, _c.member_id == cte.c.group_id, _c.member_type == "GROUP"
    )
    return cte.union(step)


def memberships_page(
    conn: sa.Connection,
    tenant: TenantRef,
    member: MemberRef,
    *,
    transitive: bool,
    limit: int,
    after: paging.Key | None,
) -> tuple[list[Membership], paging.Key | None]:
    """The groups a member is in, ordered by group id."""
    direct = _by_member(tenant, member)
    source = _ancestors(tenant, member) if transitive else direct.subquery()
    query = (
        sa.select(groups.c.id, groups.c.display_name, groups.c.id.in_(direct).label("direct"))
        .where(groups.c.tenant_id == tenant.id, groups.c.id.in_(sa.select(source.c.group_id)))
        .where(groups.c.delete_time.is_(None))
    )
    keys = [paging.SortKey(groups.c.id)]
    rows, next_key = paging.fetch_page(conn, query, keys, limit=limit, offset=0, after=after)
    return [Membership(r.id, r.display_name, bool(r.direct)) for r in rows], next_key


def contains(conn: sa.Connection, tenant: TenantRef, ancestor_id: str, member_id: str) -> bool:
    """Whether group `ancestor_id` contains the group `member_id`, directly or
    through nested groups."""
    ancestors = _ancestors(tenant, MemberRef(MemberType.GROUP, member_id))
    query = sa.select(sa.literal(1)).where(
        sa.exists(sa.select(ancestors.c.group_id).where(ancestors.c.group_id == ancestor_id))
    )
    return conn.execute(query).first() is not None
