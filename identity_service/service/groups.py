"""Use cases for groups and membership. Membership changes are deltas: they
touch the rows they change and the group's counter, never the whole list."""

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from identity_service.domain.changes import ChangeKind, NewChange
from identity_service.domain.errors import (
    ExternalIdTaken,
    GroupNameTaken,
    InvalidState,
    NotFound,
    UndeleteConflict,
)
from identity_service.domain.models import (
    Caller,
    Group,
    Member,
    MemberRef,
    Membership,
    MemberType,
    Page,
    Scope,
    TenantRef,
    now,
)
from identity_service.service import changelog, idempotency, membership, paging, validation
from identity_service.service.changes import change_cursor
from identity_service.service.membership import Delta, MemberChange, Replacement
from identity_service.service.scoped import TenantScoped, check_etag
from identity_service.store import groups as store
from identity_service.store import members as member_store
from identity_service.store import users as user_store
from identity_service.store.engine import Database

MAX_MEMBER_PAGE = 10_000

# A change writes the group and returns it with the records of its members'
# changes (the group's own record is _mutate's to make).
Change = Callable[[sa.Connection, TenantRef, Group], tuple[Group, list[NewChange]]]


@dataclass(frozen=True)
class Modification:
    """Changes to one group that succeed or fail together (ModifyGroup; the
    single-purpose methods are modifications too). A field left None stays as
    it is; "" clears externalId."""

    display_name: str | None = None
    external_id: str | None = None
    members: MemberChange = field(default_factory=Delta)


class Groups(TenantScoped[Group]):
    def __init__(self, db: Database) -> None:
        super().__init__(db, store.resources, "group")

    def create(
        self,
        caller: Caller,
        slug: str,
        display_name: str,
        external_id: str | None = None,
        members: Sequence[MemberRef] = (),
        request_id: str = "",
    ) -> Group:
        validation.check_group(display_name, external_id)
        membership.limit_members(members, membership.MAX_MEMBERS_PER_CALL)
        at = now()
        with self._db.write() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.WRITE)
            group = Group(
                id=user_store.new_id(),
                tenant_slug=tenant.slug,
                display_name=display_name,
                external_id=external_id or None,
                member_count=0,
                version=1,
                create_time=at,
                update_time=at,
            )

            def run() -> Group:
                # A new group cannot be in a cycle: nothing contains it yet.
                resolved = membership.resolve_members(conn, tenant, members)
                added = member_store.add(conn, tenant, group.id, resolved, at)
                created = dataclasses.replace(group, member_count=len(added))
                store.insert(conn, tenant, created)
                records = [changelog.group(tenant, None, created)]
                records += changelog.members(tenant, group.id, ChangeKind.MEMBER_ADDED, added)
                changelog.record(conn, tenant, caller, request_id, [r for r in records if r])
                return created

            arguments = (display_name, external_id, list(members))
            return idempotency.once(conn, tenant, request_id, "CreateGroup", arguments, Group, run)

    def update(
        self,
        caller: Caller,
        slug: str,
        group_id: str,
        *,
        display_name: str | None = None,
        external_id: str | None = None,
        etag: str = "",
        request_id: str = "",
    ) -> Group:
        """Replace displayName and/or externalId (None leaves a field as it is,
        "" clears externalId)."""
        arguments = (group_id, display_name, external_id, etag)
        change = Modification(display_name=display_name, external_id=external_id)
        return self._modify(
            caller, slug, group_id, "UpdateGroup", arguments, change, etag, request_id
        )

    def delete(
        self, caller: Caller, slug: str, group_id: str, *, etag: str = "", request_id: str = ""
    ) -> Group:
        """Soft delete; the group's memberships, as container and as member,
        are removed."""

        def change(
            conn: sa.Connection, tenant: TenantRef, group: Group
        ) -> tuple[Group, list[NewChange]]:
            deleted = membership.next_version(
                dataclasses.replace(group, delete_time=now(), member_count=0)
            )
            # GROUP_DELETED says the member list is gone: a record per member
            # of a million-member group would be a million records.
            member_store.clear(conn, tenant, group.id)
            parents = member_store.leave_all(conn, tenant, group.id)
            store.add_to_count(conn, tenant, parents, -1, deleted.update_time)
            store.save(conn, tenant, deleted)
            ref = MemberRef(MemberType.GROUP, group.id)
            return deleted, changelog.left_groups(tenant, ref, parents)

        arguments = (group_id, etag)
        return self._mutate(
            caller, slug, group_id, "DeleteGroup", arguments, etag, request_id, change
        )

    def undelete(
        self, caller: Caller, slug: str, group_id: str, *, etag: str = "", request_id: str = ""
    ) -> Group:
        def change(
            conn: sa.Connection, tenant: TenantRef, group: Group
        ) -> tuple[Group, list[NewChange]]:
            if group.delete_time is None:
                raise InvalidState(f"group {group_id!r} is not deleted")
            restored = membership.next_version(dataclasses.replace(group, delete_time=None))
            try:
                store.save(conn, tenant, restored)
            except (GroupNameTaken, ExternalIdTaken) as exc:
                raise UndeleteConflict(f"cannot undelete: {exc.message}") from exc
            return restored, []

        arguments = (group_id, etag)
        return self._mutate(
            caller,
            slug,
            group_id,
            "UndeleteGroup",
            arguments,
            etag,
            request_id,
            change,
            include_deleted=True,
        )

    def add_members(
        self,
        caller: Caller,
        slug: str,
        group_id: str,
        refs: Sequence[MemberRef],
        *,
        etag: str = "",
        request_id: str = "",
    ) -> Group:
        """Add members atomically; members already there are left alone."""
        arguments = (group_id, list(refs), etag)
        change = Modification(members=Delta(add=refs))
        return self._modify(
            caller, slug, group_id, "AddMembers", arguments, change, etag, request_id
        )

    def remove_members(
        self,
        caller: Caller,
        slug: str,
        group_id: str,
        member_ids: Sequence[str],
        *,
        etag: str = "",
        request_id: str = "",
    ) -> Group:
        """Remove members atomically; absent ones are ignored."""
        arguments = (group_id, list(member_ids), etag)
        change = Modification(members=Delta(remove=member_ids))
        return self._modify(
            caller, slug, group_id, "RemoveMembers", arguments, change, etag, request_id
        )

    def replace_members(
        self,
        caller: Caller,
        slug: str,
        group_id: str,
        refs: Sequence[MemberRef],
        *,
        etag: str = "",
        request_id: str = "",
    ) -> Group:
        """Make the member list exactly `refs`, touching only the differences."""
        arguments = (group_id, list(refs), etag)
        change = Modification(members=Replacement(refs))
        return self._modify(
            caller, slug, group_id, "ReplaceMembers", arguments, change, etag, request_id
        )

    def modify(
        self,
        caller: Caller,
        slug: str,
        group_id: str,
        change: Modification,
        *,
        etag: str = "",
        request_id: str = "",
    ) -> Group:
        """Apply field and member changes in one transaction, as one new
        version when anything changed (SCIM PATCH and PUT, RFC 7644 §3.5.2:
        all operations or none)."""
        # asdict: a list and a tuple of the same members are the same request.
        arguments = (group_id, dataclasses.asdict(change), etag)
        return self._modify(
            caller, slug, group_id, "ModifyGroup", arguments, change, etag, request_id
        )

    def list_members(
        self, caller: Caller, slug: str, group_id: str, *, page_size: int, page_token: str
    ) -> tuple[Group, Page[Member]]:
        """A page of the group's direct members, and the group as the same
        transaction read it."""
        with self._db.read() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.READ)
            cursor = change_cursor(conn, tenant)
            group = self._find(conn, tenant, group_id)
            token_query = paging.fingerprint("members", tenant.id, group_id)
            items, key = member_store.list_page(
                conn,
                tenant,
                group_id,
                limit=paging.page_size(page_size, MAX_MEMBER_PAGE),
                after=paging.decode(page_token, token_query),
            )
        page = Page(items, paging.encode(token_query, key), group.member_count, cursor)
        return group, page

    def list_memberships(
        self,
        caller: Caller,
        slug: str,
        member: MemberRef,
        *,
        transitive: bool,
        page_size: int,
        page_token: str,
    ) -> Page[Membership]:
        with self._db.read() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.READ)
            (member,) = membership.resolve_members(conn, tenant, [member], error=NotFound)
            token_query = paging.fingerprint("memberships", tenant.id, member, transitive)
            items, key = member_store.memberships_page(
                conn,
                tenant,
                member,
                transitive=transitive,
                limit=paging.page_size(page_size),
                after=paging.decode(page_token, token_query),
            )
        return Page(items, paging.encode(token_query, key))

    def _modify(
        self,
        caller: Caller,
        slug: str,
        group_id: str,
        method: str,
        arguments: tuple[object, ...],
        change: Modification,
        etag: str,
        request_id: str,
    ) -> Group:
        """The one implementation of every field and member change."""
        membership.limit(change.members)

        def run(
            conn: sa.Connection, tenant: TenantRef, group: Group
        ) -> tuple[Group, list[NewChange]]:
            return _modified(conn, tenant, group, change)

        return self._mutate(caller, slug, group_id, method, arguments, etag, request_id, run)

    def _mutate(
        self,
        caller: Caller,
        slug: str,
        group_id: str,
        method: str,
        arguments: tuple[object, ...],
        etag: str,
        request_id: str,
        change: Change,
        *,
        include_deleted: bool = False,
    ) -> Group:
        """Load the group, check the etag, and let `change` write and return
        the new version, then record the changes, all in one transaction."""
        with self._db.write() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.WRITE)

            def run() -> Group:
                group = self._find(
                    conn, tenant, group_id, show_deleted=include_deleted, for_update=True
                )
                check_etag(group.etag, etag)
                changed, records = change(conn, tenant, group)
                own = changelog.group(tenant, group, changed) if changed != group else None
                changelog.record(
                    conn, tenant, caller, request_id, [own, *records] if own else records
                )
                return changed

            return idempotency.once(conn, tenant, request_id, method, arguments, Group, run)


def _modified(
    conn: sa.Connection, tenant: TenantRef, group: Group, change: Modification
) -> tuple[Group, list[NewChange]]:
    """Write `change` and return the group after it, with one record per
    member added or removed: one new version when anything changed, the same
    group (and etag) when nothing did. The group is locked for update, so its
    counter moves by the delta from the read."""
    updated = _with_fields(group, change)
    added, removed = membership.apply(conn, tenant, group.id, change.members)
    if updated == group and not (added or removed):
        return group, []
    count = group.member_count + len(added) - len(removed)
    updated = membership.next_version(dataclasses.replace(updated, member_count=count))
    # Name uniqueness is checked here, last; the transaction then rolls the
    # member rows back with it.
    store.save(conn, tenant, updated)
    records = changelog.members(tenant, group.id, ChangeKind.MEMBER_REMOVED, removed)
    records += changelog.members(tenant, group.id, ChangeKind.MEMBER_ADDED, added)
    return updated, records


def _with_fields(group: Group, change: Modification) -> Group:
    """The group with the changed fields, validated as every stored group is."""
    if change.display_name is None and change.external_id is None:
        return group
    updated = dataclasses.replace(
        group,
        display_name=group.display_name if change.display_name is None else change.display_name,
        external_id=group.external_id if change.external_id is None else change.external_id or None,
    )
    validation.check_group(updated.display_name, updated.external_id)
    return updated
