"""The one way a use case writes the change log: `record` numbers and
appends the changes of a mutation in the mutation's own transaction, so a
change and its records commit together or not at all. A mutation that
changes nothing records nothing, and so does a request_id replay (which
never runs the mutation).

The builders below turn a before/after pair into records; resource names
follow AIP-122 ("tenants/{t}/users/{id}")."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from identity_service.domain.changes import Actor, ChangeKind, NewChange
from identity_service.domain.models import (
    Caller,
    Credential,
    Group,
    MemberRef,
    MemberType,
    TenantRef,
    TenantState,
    User,
    UserState,
    now,
)
from identity_service.service import snapshots
from identity_service.store import changes as store

# Bookkeeping that changes with every version: not a "changed field".
_BOOKKEEPING = frozenset({"version", "update_time", "create_time"})
# What a user's state change records.
_USER_TRANSITIONS = {
    UserState.DEACTIVATED: ChangeKind.USER_DEACTIVATED,
    UserState.DELETED: ChangeKind.USER_DELETED,
}


def record(
    conn: sa.Connection,
    tenant: TenantRef,
    caller: Caller,
    request_id: str,
    records: Sequence[NewChange],
) -> None:
    """Append `records` to the tenant's log. Call it last in the transaction:
    it takes the tenant's log lock (store/changes.py)."""
    origin = caller.origin
    actor = Actor(
        _credential_name(caller),
        origin.method if origin else "",
        origin.path if origin else "",
        origin.client if origin else "",
    )
    # The RPC's own request_id (idempotency) wins; else the id of the request
    # the caller made the call for, so a SCIM call's X-Request-Id reaches its
    # records (decision 0020).
    request_id = request_id or (origin.request_id if origin else "")
    store.append(conn, tenant, records, actor=actor, request_id=request_id, at=now())


def _credential_name(caller: Caller) -> str:
    if caller.tenant_slug is not None:
        return f"tenants/{caller.tenant_slug}/credentials/{caller.credential_id}"
    if caller.credential_id == "operator":
        return "operator"
    return f"credentials/{caller.credential_id}"


def name(tenant: TenantRef, collection: str, resource_id: str) -> str:
    return f"tenants/{tenant.slug}/{collection}/{resource_id}"


def _changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    """Fields that differ, bookkeeping aside; a user's `attributes` by key
    (e.g. "emails", "enterprise")."""
    fields: list[str] = []
    for key in sorted(set(before) | set(after)):
        if key in _BOOKKEEPING or before.get(key) == after.get(key):
            continue
        if key == "attributes":
            old, new = before.get(key) or {}, after.get(key) or {}
            fields += [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        else:
            fields.append(key)
    return tuple(fields)


def _tombstone(resource_id: str, delete_time: object) -> dict[str, Any]:
    """What the log keeps of a deleted resource: that it is gone, and when."""
    return snapshots.dump_dict({"id": resource_id, "delete_time": delete_time})


def user(tenant: TenantRef, before: User | None, after: User) -> NewChange:
    """The record of a new user, or of `before` becoming `after`."""
    snapshot = snapshots.dump(after)
    fields: tuple[str, ...] = ()
    if before is None:
        kind = ChangeKind.USER_CREATED
    else:
        fields = _changed(snapshots.dump(before), snapshot)
        if after.state == before.state:
            kind = ChangeKind.USER_UPDATED
        elif before.state == UserState.DELETED:
            kind = ChangeKind.USER_UNDELETED
        else:
            kind = _USER_TRANSITIONS.get(after.state, ChangeKind.USER_REACTIVATED)
    if kind == ChangeKind.USER_DELETED:
        snapshot = _tombstone(after.id, after.delete_time)
    return NewChange(kind, after.id, name(tenant, "users", after.id), snapshot, fields)


def group(tenant: TenantRef, before: Group | None, after: Group) -> NewChange | None:
    """The record of a new group, or of `before` becoming `after`; None when
    only its members changed (their records say so, one per member)."""
    snapshot = snapshots.dump(after)
    fields: tuple[str, ...] = ()
    if before is None:
        kind = ChangeKind.GROUP_CREATED
    else:
        fields = tuple(f for f in _changed(snapshots.dump(before), snapshot) if f != "member_count")
        if after.delete_time is not None and before.delete_time is None:
            kind, snapshot = ChangeKind.GROUP_DELETED, _tombstone(after.id, after.delete_time)
        elif after.delete_time is None and before.delete_time is not None:
            kind = ChangeKind.GROUP_UNDELETED
        elif fields:
            kind = ChangeKind.GROUP_UPDATED
        else:
            return None
    return NewChange(kind, after.id, name(tenant, "groups", after.id), snapshot, fields)


def members(
    tenant: TenantRef, group_id: str, kind: ChangeKind, refs: Sequence[MemberRef]
) -> list[NewChange]:
    """One MEMBER_ADDED or MEMBER_REMOVED per member actually added or
    removed; the group is the resource, the member the snapshot."""
    group_name = name(tenant, "groups", group_id)
    return [
        NewChange(
            kind,
            group_id,
            group_name,
            {
                "group": group_name,
                "member": name(
                    tenant, "users" if ref.type == MemberType.USER else "groups", ref.id
                ),
                "member_type": ref.type.value,
            },
            ("members",),
        )
        for ref in refs
    ]


def left_groups(tenant: TenantRef, member: MemberRef, group_ids: Sequence[str]) -> list[NewChange]:
    """MEMBER_REMOVED of every group a deleted member left."""
    return [
        record_
        for group_id in group_ids
        for record_ in members(tenant, group_id, ChangeKind.MEMBER_REMOVED, [member])
    ]


def tenant_state(tenant: TenantRef, state: TenantState, snapshot: object) -> NewChange:
    kind = (
        ChangeKind.TENANT_SUSPENDED if state == TenantState.SUSPENDED else ChangeKind.TENANT_RESUMED
    )
    return NewChange(
        kind, tenant.slug, f"tenants/{tenant.slug}", snapshots.dump(snapshot), ("state",)
    )


def tenant_created(tenant: TenantRef, snapshot: object) -> NewChange:
    return NewChange(
        ChangeKind.TENANT_CREATED, tenant.slug, f"tenants/{tenant.slug}", snapshots.dump(snapshot)
    )


def credential(tenant: TenantRef, kind: ChangeKind, value: Credential) -> NewChange:
    """A tenant credential created or revoked; the snapshot has no secret
    and not even its prefix."""
    snapshot = snapshots.dump(value)
    snapshot.pop("secret_prefix", None)
    snapshot.pop("last_use_time", None)
    fields = ("revoke_time",) if kind == ChangeKind.CREDENTIAL_REVOKED else ()
    return NewChange(kind, value.id, name(tenant, "credentials", value.id), snapshot, fields)
