"""What users and groups share in the store: tenant-scoped reads of a table
whose rows are soft-deleted, filtered and paged."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from identity_service.domain.models import TenantRef
from identity_service.store import paging
from identity_service.store.engine import Prepared

T = TypeVar("T")


class Resources(Generic[T]):
    """Reads of one resource table (`tenant_id`, `id`, `delete_time`)."""

    def __init__(
        self,
        table: sa.Table,
        to_domain: Callable[[Any, TenantRef], T],
        compile_filter: Callable[[str], sa.ColumnElement[bool]],
        orderable: Mapping[str, paging.Orderable],
    ) -> None:
        self._table, self._c = table, table.c
        self._to_domain = to_domain
        self._compile_filter = compile_filter
        self._orderable = orderable
        # Built once: composing a statement per call costs more than running it.
        get = sa.select(table).where(
            self._c.tenant_id == sa.bindparam("tenant_id"), self._c.id == sa.bindparam("id")
        )
        self._get = Prepared(get)
        self._get_for_update = Prepared(get.with_for_update())
        live = (
            self._c.tenant_id == sa.bindparam("tenant_id"),
            self._c.id.in_(sa.bindparam("ids", expanding=True)),
            self._c.delete_time.is_(None),
        )
        self._get_many = sa.select(table).where(*live)
        self._live_ids = sa.select(self._c.id).where(*live)
        self._by_key: dict[str, Prepared] = {}

    def get(
        self, conn: sa.Connection, tenant: TenantRef, resource_id: str, *, for_update: bool = False
    ) -> T | None:
        """The resource, deleted or not; locked for update when asked."""
        query = self._get_for_update if for_update else self._get
        rows = query.rows(conn, {"tenant_id": tenant.id, "id": resource_id})
        return self._to_domain(rows[0], tenant) if rows else None

    def get_many(self, conn: sa.Connection, tenant: TenantRef, ids: Sequence[str]) -> dict[str, T]:
        """The live resources among `ids`, by id."""
        rows = conn.execute(self._get_many, {"tenant_id": tenant.id, "ids": list(ids)})
        return {row.id: self._to_domain(row, tenant) for row in rows}

    def find_live(
        self, conn: sa.Connection, tenant: TenantRef, column: sa.Column[Any], value: str
    ) -> list[T]:
        """The live resources whose `column` equals `value`, in id order:
        a seek in a unique index of live rows, so one at most."""
        query = self._by_key.get(column.name)
        if query is None:
            query = self._by_key[column.name] = Prepared(
                sa.select(self._table)
                .where(
                    self._c.tenant_id == sa.bindparam("tenant_id"),
                    column == sa.bindparam("value"),
                    self._c.delete_time.is_(None),
                )
                .order_by(self._c.id)
            )
        rows = query.rows(conn, {"tenant_id": tenant.id, "value": value})
        return [self._to_domain(row, tenant) for row in rows]

    def live_ids(self, conn: sa.Connection, tenant: TenantRef, ids: Sequence[str]) -> set[str]:
        rows = conn.execute(self._live_ids, {"tenant_id": tenant.id, "ids": list(ids)})
        return set(rows.scalars())

    def _where(self, tenant: TenantRef, expression: str, show_deleted: bool) -> list[Any]:
        where: list[Any] = [self._c.tenant_id == tenant.id]
        if not show_deleted:
            where.append(self._c.delete_time.is_(None))
        if expression:
            where.append(self._compile_filter(expression))
        return where

    def count(
        self, conn: sa.Connection, tenant: TenantRef, expression: str, show_deleted: bool
    ) -> int:
        query = sa.select(sa.func.count()).select_from(self._table)
        return conn.execute(
            query.where(*self._where(tenant, expression, show_deleted))
        ).scalar_one()

    def list_page(
        self,
        conn: sa.Connection,
        tenant: TenantRef,
        *,
        expression: str,
        order_by: str,
        show_deleted: bool,
        limit: int,
        offset: int,
        after: paging.Key | None,
    ) -> tuple[list[T], paging.Key | None]:
        """One page, and the sort key to continue after (None on the last page)."""
        keys = paging.parse_order_by(order_by, self._orderable, self._c.id)
        query = sa.select(self._table).where(*self._where(tenant, expression, show_deleted))
        rows, next_key = paging.fetch_page(
            conn, query, keys, limit=limit, offset=offset, after=after
        )
        return [self._to_domain(r, tenant) for r in rows], next_key
