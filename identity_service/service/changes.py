"""Reading a tenant's change log (ListChanges), cursors, and retention.
Cursors are opaque to clients: a record's cursor is bound to the tenant
whose log it points into; an all-tenants stream's cursor holds a position
in every tenant's log."""

import base64
import binascii
import json
import zlib
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from identity_service.domain.changes import Change, ChangeKind, ResourceType
from identity_service.domain.errors import CursorExpired, InvalidField
from identity_service.domain.models import Caller, Page, Scope, TenantRef
from identity_service.service import paging
from identity_service.service.access import OWN_TENANT, Access, require
from identity_service.store import changes as store
from identity_service.store.engine import Database

# Records one pruning transaction deletes at most.
PRUNE_BATCH = 5_000
# The largest all-tenants cursor accepted, decompressed.
_MAX_POSITIONS_BYTES = 4 << 20


def cursor(change: Change) -> str:
    """The opaque position of a record: its tenant and seq."""
    return encode_cursor(change.tenant_id, change.seq)


def encode_cursor(tenant_id: int, seq: int) -> str:
    return _b64encode(json.dumps({"t": tenant_id, "s": seq}, separators=(",", ":")).encode())


def encode_positions(positions: dict[int, int]) -> str:
    """An all-tenants cursor: each tenant's seq (tenants without one are at
    0), as ascending tenant-id deltas and seqs, compressed: a few bytes per
    tenant."""
    flat: list[int] = []
    previous = 0
    for tenant_id in sorted(positions):
        if positions[tenant_id]:
            flat += [tenant_id - previous, positions[tenant_id]]
            previous = tenant_id
    payload = zlib.compress(json.dumps({"a": flat}, separators=(",", ":")).encode())
    return _b64encode(payload)


def decode_positions(value: str, field: str = "start_cursor") -> dict[int, int]:
    """The positions an all-tenants cursor holds; INVALID_ARGUMENT when it
    is not one."""
    invalid = InvalidField.of(field, "not a change cursor of all tenants")
    try:
        inflate = zlib.decompressobj()
        data = inflate.decompress(_b64decode(value), _MAX_POSITIONS_BYTES)
        payload = json.loads(data) if inflate.eof else None
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise invalid from exc
    flat = payload.get("a") if isinstance(payload, dict) else None
    if (
        not isinstance(flat, list)
        or len(flat) % 2
        or not all(type(x) is int and x > 0 for x in flat)
    ):
        raise invalid
    positions: dict[int, int] = {}
    tenant_id = 0
    for delta, seq in zip(flat[::2], flat[1::2], strict=True):
        tenant_id += delta
        positions[tenant_id] = seq
    return positions


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


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
        payload = json.loads(_b64decode(value))
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
        if caller.is_platform and slug == OWN_TENANT:
            raise InvalidField.of(
                "parent", "name the tenant: only WatchChanges follows every tenant's log"
            )
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
        """Delete every tenant's records committed before `before`
        (retention); returns how many were deleted. Each transaction deletes
        at most PRUNE_BATCH records, so writers never wait long for it."""
        require(caller, Scope.ADMIN)
        with self._db.read() as conn:
            logs = store.heads(conn)
        deleted = 0
        for tenant, _ in logs:
            with self._db.read() as conn:
                horizon = store.prune_horizon(conn, tenant, before=before)
            while horizon:
                with self._db.write() as conn:
                    batch = store.prune(conn, tenant, through=horizon, limit=PRUNE_BATCH)
                deleted += batch
                if batch < PRUNE_BATCH:
                    break
        return deleted
