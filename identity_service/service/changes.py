"""Reading a tenant's change log (ListChanges). Cursors are opaque to
clients and bound to the tenant whose log they point into."""

import base64
import binascii
import json
from collections.abc import Sequence

from identity_service.domain.changes import Change, ChangeKind, ResourceType
from identity_service.domain.errors import InvalidField
from identity_service.domain.models import Caller, Page, Scope
from identity_service.service import paging
from identity_service.service.access import Access, require
from identity_service.store import changes as store
from identity_service.store.engine import Database


def cursor(change: Change) -> str:
    """The opaque position of a record: its tenant and seq."""
    return encode_cursor(change.tenant_id, change.seq)


def encode_cursor(tenant_id: int, seq: int) -> str:
    payload = json.dumps({"t": tenant_id, "s": seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


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
