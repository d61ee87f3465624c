"""SQL for the change log. None of these functions commits.

The sequence. Each tenant row holds `change_seq`, the seq of its last
record. `append` bumps it with one UPDATE ... RETURNING and inserts the
records under the numbers it reserved. The UPDATE takes the tenant row's
write lock, held until the transaction ends, so the writers of one tenant
pass this point one at a time, each after the previous one committed (or
rolled back, which gives its numbers back): seqs are gap-free, and seq
order is commit order. A plain autoincrement id is neither: ids are drawn
when a transaction starts writing, not when it commits, and a rolled-back
id is lost. SQLite serialises writers anyway (BEGIN IMMEDIATE,
store/engine.py); on PostgreSQL the use cases of users and groups lock the
same row when their transaction starts (docs/decisions/0009), the others
at this UPDATE; other tenants' writers never wait for it. On PostgreSQL
`append` also notifies the other replicas (store/notify.py)."""

import functools
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from identity_service.domain.changes import Actor, Change, ChangeKind, NewChange, ResourceType
from identity_service.domain.models import TenantRef
from identity_service.store import notify
from identity_service.store.engine import Prepared, note_change
from identity_service.store.schema import ChangeRow, as_utc
from identity_service.store.tenants import tenants

changes = ChangeRow.__table__  # type: ignore[attr-defined]
_c = changes.c
# Records of these change who may call on the tenant.
_ACCESS_TYPES = (ResourceType.TENANT, ResourceType.CREDENTIAL)

# Built once, as every mutation runs them: composing a statement per call
# costs more than running it.
_RESERVE_SEQS = Prepared(
    tenants.update()
    .where(tenants.c.id == sa.bindparam("where_tenant_id"))
    .values(change_seq=tenants.c.change_seq + sa.bindparam("count"))
    .returning(tenants.c.change_seq)
)
_COLUMNS = (
    "tenant_id",
    "seq",
    "kind",
    "resource_type",
    "resource_id",
    "resource",
    "snapshot",
    "changed_fields",
    "actor",
    "request_id",
    "commit_time",
)
_INSERT = Prepared(changes.insert(), _COLUMNS)
_FIRST_SEQ = Prepared(
    sa.select(sa.func.min(_c.seq).label("oldest")).where(_c.tenant_id == sa.bindparam("tenant_id"))
)
_LAST_SEQ = Prepared(
    sa.select(tenants.c.change_seq).where(tenants.c.id == sa.bindparam("tenant_id"))
)


def _actor_json(actor: Actor) -> dict[str, Any]:
    origin = {
        k: v
        for k, v in (("method", actor.method), ("path", actor.path), ("client", actor.client))
        if v
    }
    return {"credential": actor.credential, **({"origin": origin} if origin else {})}


def _actor(data: dict[str, Any]) -> Actor:
    origin = data.get("origin") or {}
    return Actor(
        data.get("credential", ""),
        origin.get("method", ""),
        origin.get("path", ""),
        origin.get("client", ""),
    )


def append(
    conn: sa.Connection,
    tenant: TenantRef,
    records: Sequence[NewChange],
    *,
    actor: Actor,
    request_id: str,
    at: datetime,
) -> list[int]:
    """Number `records` after the tenant's last change and insert them;
    returns their seqs. Call it last in the transaction (see above)."""
    if not records:
        return []
    reserved = {"where_tenant_id": tenant.id, "count": len(records)}
    (row,) = _RESERVE_SEQS.rows(conn, reserved)
    last: int = row.change_seq
    first = last - len(records) + 1
    actor_json = _actor_json(actor)
    rows = [
        {
            "tenant_id": tenant.id,
            "seq": first + offset,
            "kind": record.kind.value,
            "resource_type": record.kind.resource_type.value,
            "resource_id": record.resource_id,
            "resource": record.resource,
            "snapshot": record.snapshot,
            "changed_fields": list(record.changed_fields),
            "actor": actor_json,
            "request_id": request_id,
            "commit_time": at,
        }
        for offset, record in enumerate(records)
    ]
    _INSERT.run(conn, rows)
    access = any(record.kind.resource_type in _ACCESS_TYPES for record in records)
    note_change(conn, tenant.id, access=access)
    notify.announce(conn, tenant.id)
    return list(range(first, last + 1))


def last_seq(conn: sa.Connection, tenant: TenantRef) -> int:
    """The seq of the tenant's last change (0 before the first)."""
    (row,) = _LAST_SEQ.rows(conn, {"tenant_id": tenant.id})
    return int(row.change_seq)


def heads(
    conn: sa.Connection, tenant_ids: Collection[int] | None = None
) -> list[tuple[TenantRef, int]]:
    """Every tenant that has a log (or those of `tenant_ids`), by id, with
    the seq of its last change."""
    query = (
        sa.select(tenants.c.id, tenants.c.slug, tenants.c.change_seq)
        .where(tenants.c.change_seq > 0)
        .order_by(tenants.c.id)
    )
    if tenant_ids is not None:
        query = query.where(tenants.c.id.in_(tenant_ids))
    return [(TenantRef(row.id, row.slug), int(row.change_seq)) for row in conn.execute(query)]


def first_seq(conn: sa.Connection, tenant: TenantRef) -> int:
    """The seq of the tenant's oldest kept record; the next seq when pruning
    removed every record."""
    (row,) = _FIRST_SEQ.rows(conn, {"tenant_id": tenant.id})
    return int(row.oldest) if row.oldest is not None else last_seq(conn, tenant) + 1


def prune_horizon(conn: sa.Connection, tenant: TenantRef, *, before: datetime) -> int:
    """The seq of the tenant's last record committed before `before` (0 for
    none): pruning deletes up to it. The log only ever loses a prefix:
    commit times are taken before the log lock, so a few may be out of seq
    order, and deleting by time alone could leave a hole."""
    horizon = conn.execute(
        sa.select(sa.func.max(_c.seq)).where(_c.tenant_id == tenant.id, _c.commit_time < before)
    ).scalar_one()
    return int(horizon or 0)


def prune(conn: sa.Connection, tenant: TenantRef, *, through: int, limit: int) -> int:
    """Delete the tenant's oldest records, at most `limit` of them and none
    after seq `through`; returns how many. The log is gap-free and only
    ever loses a prefix, so the batch is a seq range."""
    batch_end = min(through, first_seq(conn, tenant) + limit - 1)
    deleted = conn.execute(changes.delete().where(_c.tenant_id == tenant.id, _c.seq <= batch_end))
    return int(deleted.rowcount)


def page(
    conn: sa.Connection,
    tenant: TenantRef,
    *,
    after: int,
    limit: int,
    resource_types: Sequence[ResourceType] = (),
    kinds: Sequence[ChangeKind] = (),
) -> list[Change]:
    """Up to `limit` records with seq > `after`, in seq order, of the given
    resource types and kinds (any when empty)."""
    query = _page(
        tuple(sorted({t.value for t in resource_types})), tuple(sorted({k.value for k in kinds}))
    )
    rows = query.rows(conn, {"tenant_id": tenant.id, "after": after, "limit": limit})
    return [_to_change(tenant, row) for row in rows]


@functools.lru_cache(maxsize=256)
def _page(resource_types: tuple[str, ...], kinds: tuple[str, ...]) -> Prepared:
    """The page statement of a filter, built once: every watcher's wake-up
    reads a page. Equalities rather than IN, whose expanding parameter is
    rendered per call."""
    query = sa.select(changes).where(
        _c.tenant_id == sa.bindparam("tenant_id"), _c.seq > sa.bindparam("after")
    )
    if resource_types:
        query = query.where(sa.or_(*(_c.resource_type == t for t in resource_types)))
    if kinds:
        query = query.where(sa.or_(*(_c.kind == k for k in kinds)))
    return Prepared(query.order_by(_c.seq).limit(sa.bindparam("limit")))


def _to_change(tenant: TenantRef, row: Any) -> Change:
    commit_time = as_utc(row.commit_time)
    assert commit_time is not None
    return Change(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        seq=row.seq,
        kind=ChangeKind(row.kind),
        resource_id=row.resource_id,
        resource=row.resource,
        snapshot=row.snapshot,
        changed_fields=tuple(row.changed_fields),
        actor=_actor(row.actor),
        request_id=row.request_id,
        commit_time=commit_time,
    )
