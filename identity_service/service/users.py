"""Use cases for users. Each public method checks the caller's scope, owns one
transaction, and keeps the rules: uniqueness, etags, lifecycle."""

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from identity_service.domain.changes import NewChange
from identity_service.domain.errors import (
    ExternalIdTaken,
    InvalidState,
    UndeleteConflict,
    UserNameTaken,
)
from identity_service.domain.models import (
    Caller,
    MemberRef,
    MemberType,
    NewUser,
    Scope,
    TenantRef,
    User,
    UserState,
    now,
)
from identity_service.service import changelog, idempotency, validation
from identity_service.service.access import require
from identity_service.service.scoped import TenantScoped, check_etag
from identity_service.store import groups as group_store
from identity_service.store import members as member_store
from identity_service.store import users as store
from identity_service.store.engine import Database

# Fields of a user that live in columns; every other path is in `attributes`.
CORE_FIELDS = ("user_name", "external_id", "display_name", "active")
REFRESH_BATCH = 5000


def _set_path(document: dict[str, Any], path: str, value: Any) -> None:
    """Set (or, for an empty value, remove) a dotted path in a document."""
    *parents, leaf = path.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    if value in (None, "", [], {}, False):
        node.pop(leaf, None)
    else:
        node[leaf] = copy.deepcopy(value)
    if parents and not node:
        _set_path(document, ".".join(parents), None)


def _with_state(user: User, state: UserState) -> User:
    at = now()
    if state == UserState.DEACTIVATED:
        return dataclasses.replace(user, state=state, deactivate_time=at)
    return dataclasses.replace(user, state=state, deactivate_time=None)


class Users(TenantScoped[User]):
    def __init__(self, db: Database) -> None:
        super().__init__(db, store.resources, "user")

    def refresh_search_keys(self, caller: Caller) -> int:
        """Recompute every user's stored search key (emails_key) from its
        attributes, in every tenant; how many were stale. For after an
        upgrade during which replicas of a release that did not keep the key
        wrote users (docs/deploy.md). Each transaction covers REFRESH_BATCH."""
        require(caller, Scope.ADMIN)
        stale, after = 0, (-1, "")
        while True:
            with self._db.write() as conn:
                count, last = store.refresh_emails_keys(conn, after, REFRESH_BATCH)
            stale += count
            if last is None:
                return stale
            after = last

    def create(self, caller: Caller, slug: str, new: NewUser, request_id: str = "") -> User:
        validation.check_user(new.user_name, new.external_id, new.display_name, new.attributes)
        at = now()
        user = User(
            id=store.new_id(),
            tenant_slug=slug,
            user_name=new.user_name,
            external_id=new.external_id,
            display_name=new.display_name,
            state=UserState.ACTIVE if new.active else UserState.DEACTIVATED,
            attributes=copy.deepcopy(new.attributes),
            version=1,
            create_time=at,
            update_time=at,
            deactivate_time=None if new.active else at,
        )
        with self._db.write() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.WRITE)
            user = dataclasses.replace(user, tenant_slug=tenant.slug)

            def run() -> User:
                store.insert(conn, tenant, user)
                changelog.record(
                    conn, tenant, caller, request_id, [changelog.user(tenant, None, user)]
                )
                return user

            return idempotency.once(conn, tenant, request_id, "CreateUser", (new,), User, run)

    def update(
        self,
        caller: Caller,
        slug: str,
        user_id: str,
        changes: dict[str, Any],
        *,
        etag: str = "",
        request_id: str = "",
    ) -> User:
        """Replace the given fields: CORE_FIELDS by name, any other key a
        dotted path into `attributes`; an empty value clears the field."""

        def change(user: User) -> User:
            core = {k: v for k, v in changes.items() if k in CORE_FIELDS}
            attributes = copy.deepcopy(user.attributes)
            for path, value in changes.items():
                if path not in CORE_FIELDS:
                    _set_path(attributes, path, value)
            updated = dataclasses.replace(
                user,
                user_name=core.get("user_name", user.user_name),
                external_id=core.get("external_id", user.external_id) or None,
                display_name=core.get("display_name", user.display_name) or None,
                attributes=attributes,
            )
            validation.check_user(
                updated.user_name, updated.external_id, updated.display_name, attributes
            )
            if "active" in core:
                wanted = UserState.ACTIVE if core["active"] else UserState.DEACTIVATED
                if wanted != user.state:
                    updated = _with_state(updated, wanted)
            return updated

        return self._mutate(caller, slug, user_id, "UpdateUser", changes, etag, request_id, change)

    def deactivate(
        self, caller: Caller, slug: str, user_id: str, *, etag: str = "", request_id: str = ""
    ) -> User:
        def change(user: User) -> User:
            return (
                user
                if user.state == UserState.DEACTIVATED
                else _with_state(user, UserState.DEACTIVATED)
            )

        return self._mutate(caller, slug, user_id, "DeactivateUser", None, etag, request_id, change)

    def reactivate(
        self, caller: Caller, slug: str, user_id: str, *, etag: str = "", request_id: str = ""
    ) -> User:
        def change(user: User) -> User:
            return user if user.state == UserState.ACTIVE else _with_state(user, UserState.ACTIVE)

        return self._mutate(caller, slug, user_id, "ReactivateUser", None, etag, request_id, change)

    def delete(
        self, caller: Caller, slug: str, user_id: str, *, etag: str = "", request_id: str = ""
    ) -> User:
        """Soft delete: a tombstone that frees userName and externalId; the user
        leaves every group."""

        def change(user: User) -> User:
            return dataclasses.replace(user, state=UserState.DELETED, delete_time=now())

        def leave_groups(conn: sa.Connection, tenant: TenantRef, user: User) -> list[NewChange]:
            groups = member_store.leave_all(conn, tenant, user.id)
            group_store.add_to_count(conn, tenant, groups, -1, user.update_time)
            return changelog.left_groups(tenant, MemberRef(MemberType.USER, user.id), groups)

        return self._mutate(
            caller,
            slug,
            user_id,
            "DeleteUser",
            None,
            etag,
            request_id,
            change,
            on_saved=leave_groups,
        )

    def undelete(
        self, caller: Caller, slug: str, user_id: str, *, etag: str = "", request_id: str = ""
    ) -> User:
        """Restore a deleted user in its former state, with no memberships."""

        def change(user: User) -> User:
            if user.state != UserState.DELETED:
                raise InvalidState(f"user {user_id!r} is not deleted")
            state = UserState.DEACTIVATED if user.deactivate_time else UserState.ACTIVE
            return dataclasses.replace(user, state=state, delete_time=None)

        try:
            return self._mutate(
                caller,
                slug,
                user_id,
                "UndeleteUser",
                None,
                etag,
                request_id,
                change,
                include_deleted=True,
            )
        except (UserNameTaken, ExternalIdTaken) as exc:
            raise UndeleteConflict(f"cannot undelete: {exc.message}") from exc

    def _mutate(
        self,
        caller: Caller,
        slug: str,
        user_id: str,
        method: str,
        arguments: Any,
        etag: str,
        request_id: str,
        change: Callable[[User], User],
        *,
        include_deleted: bool = False,
        on_saved: Callable[[sa.Connection, TenantRef, User], list[NewChange]] | None = None,
    ) -> User:
        """Load the user, check the etag, apply `change`, and save a new version
        when it changed anything, with its change records; `on_saved` runs in
        the same transaction and returns the records of what it changed."""
        with self._db.write() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.WRITE)

            def run() -> User:
                user = self._find(
                    conn, tenant, user_id, show_deleted=include_deleted, for_update=True
                )
                check_etag(user.etag, etag)
                changed = change(user)
                if changed == user:
                    return user
                changed = dataclasses.replace(changed, update_time=now(), version=user.version + 1)
                store.save(conn, tenant, changed)
                records = [changelog.user(tenant, user, changed)]
                if on_saved is not None:
                    records += on_saved(conn, tenant, changed)
                changelog.record(conn, tenant, caller, request_id, records)
                return changed

            key = (user_id, arguments, etag)
            return idempotency.once(conn, tenant, request_id, method, key, User, run)
