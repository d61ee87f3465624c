"""Rules of group membership shared by the group use cases: members exist in
the tenant, no group contains itself, and each change is a new version of the
group with its counter moved by the delta."""

import dataclasses
from collections.abc import Sequence

import sqlalchemy as sa

from identity_service.domain.errors import InvalidMember, NotFound, TooManyItems
from identity_service.domain.models import Group, MemberRef, MemberType, TenantRef, now
from identity_service.store import groups as store
from identity_service.store import members as member_store
from identity_service.store import users as user_store


def next_version(group: Group) -> Group:
    return dataclasses.replace(group, version=group.version + 1, update_time=now())


def counted(
    conn: sa.Connection, tenant: TenantRef, group: Group, delta: int, *, changed: bool | None = None
) -> Group:
    """The group after its member count moved by `delta`, as a new version
    when membership changed."""
    if not (delta if changed is None else changed):
        return group
    updated = next_version(dataclasses.replace(group, member_count=group.member_count + delta))
    store.add_to_count(conn, tenant, [group.id], delta, updated.update_time)
    return updated


def limit_members(items: Sequence[object], limit: int) -> None:
    if len(items) > limit:
        raise TooManyItems.over("members", limit)


def check_members_exist(
    conn: sa.Connection,
    tenant: TenantRef,
    refs: Sequence[MemberRef],
    error: type[InvalidMember] | type[NotFound] = InvalidMember,
) -> None:
    user_ids = [r.id for r in refs if r.type == MemberType.USER]
    group_ids = [r.id for r in refs if r.type == MemberType.GROUP]
    found = user_store.live_ids(conn, tenant, user_ids) if user_ids else set()
    found |= store.live_ids(conn, tenant, group_ids) if group_ids else set()
    for ref in refs:
        if ref.id not in found:
            raise error(
                f"{ref.type.value.lower()} {ref.id!r} not found", metadata={"member": ref.id}
            )


def check_no_cycle(
    conn: sa.Connection, tenant: TenantRef, group_id: str, refs: Sequence[MemberRef]
) -> None:
    """A group may not contain itself, directly or through nested groups."""
    for ref in refs:
        if ref.type == MemberType.GROUP and (
            ref.id == group_id or member_store.contains(conn, tenant, ref.id, group_id)
        ):
            raise InvalidMember(
                f"group {ref.id!r} contains this group; adding it would make a cycle",
                metadata={"member": ref.id},
            )
