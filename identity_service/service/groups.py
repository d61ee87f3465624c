"""Use cases for groups and membership. Membership changes are deltas: they
touch the rows they change and the group's counter, never the whole list."""

import dataclasses
from collections.abc import Callable, Sequence

import sqlalchemy as sa

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
    Page,
    Scope,
    TenantRef,
    now,
)
from identity_service.service import idempotency, membership, paging, validation
from identity_service.service.scoped import TenantScoped, check_etag
from identity_service.store import groups as store
from identity_service.store import members as member_store
from identity_service.store import users as user_store
from identity_service.store.engine import Database

MAX_MEMBERS_PER_CALL = 1000
MAX_REPLACE_MEMBERS = 10_000
MAX_MEMBER_PAGE = 10_000

Change = Callable[[sa.Connection, TenantRef, Group], Group]


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
        membership.limit_members(members, MAX_MEMBERS_PER_CALL)
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
                membership.check_members_exist(conn, tenant, members)
                added = member_store.add(conn, tenant, group.id, members, at)
                created = dataclasses.replace(group, member_count=added)
                store.insert(conn, tenant, created)
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

        def change(conn: sa.Connection, tenant: TenantRef, group: Group) -> Group:
            updated = dataclasses.replace(
                group,
                display_name=group.display_name if display_name is None else display_name,
                external_id=group.external_id if external_id is None else external_id or None,
            )
            validation.check_group(updated.display_name, updated.external_id)
            if updated == group:
                return group
            updated = membership.next_version(updated)
            store.save(conn, tenant, updated)
            return updated

        arguments = (group_id, display_name, external_id, etag)
        return self._mutate(
            caller, slug, group_id, "UpdateGroup", arguments, etag, request_id, change
        )

    def delete(
        self, caller: Caller, slug: str, group_id: str, *, etag: str = "", request_id: str = ""
    ) -> Group:
        """Soft delete; the group's memberships, as container and as member,
        are removed."""

        def change(conn: sa.Connection, tenant: TenantRef, group: Group) -> Group:
            deleted = membership.next_version(
                dataclasses.replace(group, delete_time=now(), member_count=0)
            )
            member_store.clear(conn, tenant, group.id)
            parents = member_store.leave_all(conn, tenant, group.id)
            store.add_to_count(conn, tenant, parents, -1, deleted.update_time)
            store.save(conn, tenant, deleted)
            return deleted

        arguments = (group_id, etag)
        return self._mutate(
            caller, slug, group_id, "DeleteGroup", arguments, etag, request_id, change
        )

    def undelete(
        self, caller: Caller, slug: str, group_id: str, *, etag: str = "", request_id: str = ""
    ) -> Group:
        def change(conn: sa.Connection, tenant: TenantRef, group: Group) -> Group:
            if group.delete_time is None:
                raise InvalidState(f"group {group_id!r} is not deleted")
            restored = membership.next_version(dataclasses.replace(group, delete_time=None))
            try:
                store.save(conn, tenant, restored)
            except (GroupNameTaken, ExternalIdTaken) as exc:
                raise UndeleteConflict(f"cannot undelete: {exc.message}") from exc
            return restored

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
        membership.limit_members(refs, MAX_MEMBERS_PER_CALL)

        def change(conn: sa.Connection, tenant: TenantRef, group: Group) -> Group:
            membership.check_members_exist(conn, tenant, refs)
            membership.check_no_cycle(conn, tenant, group.id, refs)
            added = member_store.add(conn, tenant, group.id, refs, now())
            return membership.counted(conn, tenant, group, added)

        arguments = (group_id, list(refs), etag)
        return self._mutate(
            caller, slug, group_id, "AddMembers", arguments, etag, request_id, change
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
        membership.limit_members(member_ids, MAX_MEMBERS_PER_CALL)

        def change(conn: sa.Connection, tenant: TenantRef, group: Group) -> Group:
            removed = member_store.remove(conn, tenant, group.id, list(member_ids))
            return membership.counted(conn, tenant, group, -removed)

        arguments = (group_id, list(member_ids), etag)
        return self._mutate(
            caller, slug, group_id, "RemoveMembers", arguments, etag, request_id, change
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
        membership.limit_members(refs, MAX_REPLACE_MEMBERS)

        def change(conn: sa.Connection, tenant: TenantRef, group: Group) -> Group:
            wanted = {ref.id: ref for ref in refs}
            current = member_store.ids(conn, tenant, group.id)
            to_add = [ref for ref_id, ref in wanted.items() if ref_id not in current]
            membership.check_members_exist(conn, tenant, to_add)
            membership.check_no_cycle(conn, tenant, group.id, to_add)
            removed = member_store.remove(conn, tenant, group.id, sorted(current - set(wanted)))
            added = member_store.add(conn, tenant, group.id, to_add, now())
            return membership.counted(
                conn, tenant, group, added - removed, changed=bool(added or removed)
            )

        arguments = (group_id, list(refs), etag)
        return self._mutate(
            caller, slug, group_id, "ReplaceMembers", arguments, etag, request_id, change
        )

    def list_members(
        self, caller: Caller, slug: str, group_id: str, *, page_size: int, page_token: str
    ) -> Page[Member]:
        with self._db.read() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.READ)
            group = self._find(conn, tenant, group_id)
            token_query = paging.fingerprint("members", tenant.id, group_id)
            items, key = member_store.list_page(
                conn,
                tenant,
                group_id,
                limit=paging.page_size(page_size, MAX_MEMBER_PAGE),
                after=paging.decode(page_token, token_query),
            )
        return Page(items, paging.encode(token_query, key), group.member_count)

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
            membership.check_members_exist(conn, tenant, [member], error=NotFound)
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
        the new version, all in one transaction."""
        with self._db.write() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.WRITE)

            def run() -> Group:
                group = self._find(
                    conn, tenant, group_id, show_deleted=include_deleted, for_update=True
                )
                check_etag(group.etag, etag)
                return change(conn, tenant, group)

            return idempotency.once(conn, tenant, request_id, method, arguments, Group, run)
