"""Reading a tenant's change log (ListChanges). Cursors are opaque to
clients and bound to the tenant whose log they point into."""

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from identity_service.domain.changes import Change, ChangeKind, ResourceType
from identity_service.domain.errors import CursorExpired, InvalidField
from identity_service.domain.models import Caller, Page, Scope, TenantRef
from identity_service.service import paging
from identity_service.service.access import Access, require
from identity_service.store import changes as store
from identity_service.store import tenants as tenant_store
from identity_service.store.engine import Database
from identity_service.store.paging import Key


def cursor(change: Change) -> str:
    """The opaque position of a record: its tenant and seq."""
    return encode_cursor(change.tenant_id, change.seq)


def encode_cursor(tenant_id: int, seq: int) -> str:
    payload = json.dumps({"t": tenant_id, "s": seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def change_cursor(conn: sa.Connection, tenant: TenantRef) -> str:
    """The cursor of the tenant's last change, read in a List call's
    transaction before the resources. Reading it first makes the pair safe
    on any isolation level: a change committed between the two reads shows
    in the list and after the cursor (once too often), never in neither."""
    return encode_cursor(tenant.id, store.last_seq(conn, tenant))


def decode_cursor(value: str, tenant_id: int, field: str = "start_cursor") -> int:
    """The seq a cursor points at; INVALID_ARGUMENT when it is malformed or
    points into another tenant's log (which it must not reveal)."""
    if not value:
        return 0
    try:
        payload = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidField.of(field, "not a change cursor") from exc
    if (
        not isinstance(payload, dict)
        or payload.get("t") != tenant_id
        or not isinstance(payload.get("s"), int)
        or payload["s"] < 0
    ):
        raise InvalidField.of(field, "not a change cursor of this tenant")
    seq: int = payload["s"]
    return seq


def check_kept(conn: sa.Connection, tenant: TenantRef, after: int) -> None:
    """CURSOR_EXPIRED when records after seq `after` were pruned (retention):
    the client lists the resources again and resumes from the list."""
    if after + 1 < store.first_seq(conn, tenant):
        raise CursorExpired(
            "the cursor is older than the change log keeps: list the resources again "
            "and continue from the list's change_cursor"
        )


class Changes:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(
        self,
        caller: Caller,
        slug: str,
        *,
        page_size: int,
        page_token: str,
        resource_types: Sequence[ResourceType] = (),
        kinds: Sequence[ChangeKind] = (),
        start_cursor: str = "",
    ) -> Page[Change]:
        """Records after `start_cursor` (or the page token), oldest first."""
        require(caller, Scope.WATCH)
        limit = paging.page_size(page_size)
        with self._db.read() as conn:
            tenant = Access.tenant(conn, caller, slug)
            after = decode_cursor(start_cursor, tenant.id)
            query = paging.fingerprint(
                "changes", tenant.id, sorted(resource_types), sorted(kinds), start_cursor
            )
            key = paging.decode(page_token, query)
            if key is not None:
                after = int(key[0])
            if start_cursor or key is not None:
                check_kept(conn, tenant, after)
            items = store.page(
                conn,
                tenant,
                after=after,
                limit=limit,
                resource_types=resource_types,
                kinds=kinds,
            )
        next_key = [items[-1].seq] if len(items) == limit else None
        return Page(items, paging.encode(query, next_key))

    def prune(self, caller: Caller, *, before: datetime) -> int:
        """Delete every tenant's records committed before `before` (retention),
        one tenant per transaction; returns how many were deleted."""
        require(caller, Scope.ADMIN)
        deleted = 0
        after: Key | None = None
        while True:
            with self._db.read() as conn:
                found, after = tenant_store.list_tenants(conn, limit=100, after=after)
            for tenant in found:
                with self._db.write() as conn:
                    deleted += store.prune(conn, TenantRef(tenant.id, tenant.slug), before=before)
            if after is None:
                return deleted
