"""Rules of group membership shared by the group use cases: members exist in
the tenant, no group contains itself, and a member change, a delta or a whole
new list, writes only the rows it changes."""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from identity_service.domain.errors import InvalidMember, NotFound, TooManyItems
from identity_service.domain.models import Group, MemberRef, MemberType, TenantRef, now
from identity_service.store import groups as store
from identity_service.store import members as member_store
from identity_service.store import users as user_store

MAX_MEMBERS_PER_CALL = 1000
MAX_REPLACE_MEMBERS = 10_000


@dataclass(frozen=True)
class Delta:
    """Members to remove, then members to add (AddMembers, RemoveMembers,
    SCIM PATCH). Re-adding a member or removing an absent one is a no-op."""

    add: Sequence[MemberRef] = ()
    remove: Sequence[str] = ()


@dataclass(frozen=True)
class Replacement:
    """The complete new member list (ReplaceMembers, SCIM PUT)."""

    members: Sequence[MemberRef]


MemberChange = Delta | Replacement


def next_version(group: Group) -> Group:
    return dataclasses.replace(group, version=group.version + 1, update_time=now())


def limit_members(items: Sequence[object], limit: int) -> None:
    if len(items) > limit:
        raise TooManyItems.over("members", limit)


def limit(change: MemberChange) -> None:
    """The per-call limits of a member change, checked before any work."""
    if isinstance(change, Replacement):
        limit_members(change.members, MAX_REPLACE_MEMBERS)
    else:
        limit_members(change.add, MAX_MEMBERS_PER_CALL)
        limit_members(change.remove, MAX_MEMBERS_PER_CALL)


def apply(
    conn: sa.Connection, tenant: TenantRef, group_id: str, change: MemberChange
) -> tuple[list[MemberRef], list[MemberRef]]:
    """Write a member change to the group's rows, refusing missing members and
    cycles; returns (added, removed), the members inserted and deleted. The
    group's own row (counter, version) is the caller's to write."""
    delta = _as_delta(conn, tenant, group_id, change)
    adding = resolve_members(conn, tenant, delta.add)
    check_no_cycle(conn, tenant, group_id, adding)
    # Removing a member that is added again would only recreate its row:
    # remove-then-add ends the same without touching it.
    added_ids = {ref.id for ref in adding}
    removing = [member_id for member_id in delta.remove if member_id not in added_ids]
    removed = member_store.remove(conn, tenant, group_id, removing)
    added = member_store.add(conn, tenant, group_id, adding, now())
    return added, removed


def _as_delta(conn: sa.Connection, tenant: TenantRef, group_id: str, change: MemberChange) -> Delta:
    """A replacement as the delta from the current list, so that members in
    both lists keep their rows."""
    if isinstance(change, Delta):
        return change
    wanted = {ref.id: ref for ref in change.members}
    current = member_store.ids(conn, tenant, group_id)
    return Delta(
        add=[ref for ref_id, ref in wanted.items() if ref_id not in current],
        remove=sorted(current - set(wanted)),
    )


def resolve_members(
    conn: sa.Connection,
    tenant: TenantRef,
    refs: Sequence[MemberRef],
    error: type[InvalidMember] | type[NotFound] = InvalidMember,
) -> list[MemberRef]:
    """The members as live users and groups of the tenant, each with its kind
    (a user id is tried first for ANY; ids are UUIDs, so at most one matches).
    A member that is not there is `error`."""
    users = [r.id for r in refs if r.type in (MemberType.USER, MemberType.ANY)]
    found_users = user_store.live_ids(conn, tenant, users) if users else set()
    groups = [
        r.id
        for r in refs
        if r.type == MemberType.GROUP or (r.type == MemberType.ANY and r.id not in found_users)
    ]
    found_groups = store.live_ids(conn, tenant, groups) if groups else set()
    resolved = []
    for ref in refs:
        if ref.type != MemberType.GROUP and ref.id in found_users:
            resolved.append(MemberRef(MemberType.USER, ref.id))
        elif ref.type != MemberType.USER and ref.id in found_groups:
            resolved.append(MemberRef(MemberType.GROUP, ref.id))
        else:
            kind = "member" if ref.type == MemberType.ANY else ref.type.value.lower()
            raise error(f"{kind} {ref.id!r} not found", metadata={"member": ref.id})
    return resolved


def check_no_cycle(
    conn: sa.Connection, tenant: TenantRef, group_id: str, refs: Sequence[MemberRef]
) -> None:
    """A group may not contain itself, directly or through nested groups.
    Only containers of the group can close a cycle, and removing the group's
    own members never changes what contains it, so the order of removals and
    this check does not matter."""
    for ref in refs:
        if ref.type == MemberType.GROUP and (
            ref.id == group_id or member_store.contains(conn, tenant, ref.id, group_id)
        ):
            raise InvalidMember(
                f"group {ref.id!r} contains this group; adding it would make a cycle",
                metadata={"member": ref.id},
            )
