"""What the user and group use cases share: the tenant a call reaches, and
the reads of one kind of soft-deleted resource."""

import re
from typing import Any, Generic, Literal, Protocol, TypeVar

import sqlalchemy as sa

from identity_service.domain.errors import EtagMismatch, InvalidField, NotFound, TooManyItems
from identity_service.domain.models import Caller, ListQuery, Page, Scope, TenantRef
from identity_service.service import paging
from identity_service.service.access import Access, require
from identity_service.service.changes import change_cursor
from identity_service.store import tenants as tenant_store
from identity_service.store.engine import Database, fold
from identity_service.store.filter_attributes import key_column
from identity_service.store.filters import MAX_FILTER_LENGTH
from identity_service.store.resources import Resources

MAX_BATCH = 1000
# How long a list remembers where a positional page ended and how many
# resources matched (both only while the tenant changes nothing).
MEMO_SECONDS = 300.0
# A filter that is one equality on a string, `userName eq "bjensen"`; which
# attributes a live-resource index covers depends on the kind.
_EQUALITY = re.compile(r'\s*([A-Za-z]+)\s+eq\s+"(?:[^"\\]|\\.)*"\s*', re.IGNORECASE)
# The same with a value that needs no unescaping, captured.
_PLAIN_EQUALITY = re.compile(r'\s*([A-Za-z]+)\s+eq\s+"([^"\\\x00-\x1f]*)"\s*', re.IGNORECASE)
_INDEXED = {
    "user": frozenset({"id", "username", "externalid"}),
    "group": frozenset({"id", "displayname", "externalid"}),
}


def check_etag(current: str, expected: str) -> None:
    """AIP-154: an etag in the request must be the current one. Weak and
    strong forms of the same version compare equal."""
    if expected and expected.removeprefix("W/") != current.removeprefix("W/"):
        raise EtagMismatch(
            f"etag {expected} is stale; the current one is {current}",
            metadata={"current_etag": current},
        )


class _SoftDeleted(Protocol):
    @property
    def delete_time(self) -> object: ...


T = TypeVar("T", bound=_SoftDeleted)


class TenantScoped(Generic[T]):
    """Use cases over one resource table of the caller's tenant."""

    def __init__(
        self, db: Database, resources: Resources[T], kind: Literal["user", "group"]
    ) -> None:
        self._db = db
        self._resources = resources
        self._kind = kind
        # (query, position) -> (change cursor, the sort key of the row
        # before that position); query -> (change cursor, matching count).
        self._bookmarks = paging.Memo(MEMO_SECONDS)
        self._totals = paging.Memo(MEMO_SECONDS)

    @staticmethod
    def _tenant(conn: sa.Connection, caller: Caller, slug: str, scope: Scope) -> TenantRef:
        """The tenant the call reaches; for a write, locked until the
        transaction ends: a tenant's writes are serial, so uniqueness,
        request_id replays, etags, membership and group nesting are decided
        on committed data (docs/decisions/0009)."""
        require(caller, scope)
        tenant = Access.tenant(conn, caller, slug)
        if scope == Scope.WRITE:
            tenant_store.lock_tenant(conn, tenant.id)
        return tenant

    def _find(
        self,
        conn: sa.Connection,
        tenant: TenantRef,
        resource_id: str,
        *,
        show_deleted: bool = False,
        for_update: bool = False,
    ) -> T:
        """The resource; NOT_FOUND when missing or (unless asked) deleted."""
        found = self._resources.get(conn, tenant, resource_id, for_update=for_update)
        if found is None or (found.delete_time is not None and not show_deleted):
            raise NotFound(f"{self._kind} {resource_id!r} not found")
        return found

    def is_key_lookup(self, query: ListQuery) -> bool:
        """Whether `query` finds its resources through an index of live
        resources, reading a row or two whatever the tenant's size: an
        equality on one of the kind's keys (Entra's `userName eq` before a
        create, Okta's `externalId eq`). Other filters may scan."""
        match = _EQUALITY.fullmatch(query.filter)
        return (
            match is not None
            and match.group(1).lower() in _INDEXED[self._kind]
            and not query.show_deleted
            and not query.skip
        )

    def _seek(self, query: ListQuery) -> tuple[sa.Column[Any], str] | None:
        """The column and value to seek when `query` is only an `eq` on an
        indexed key, with a value written plainly, on its first page in the
        default order: its rows are the ones the filter finds, without
        parsing and compiling it (Entra's lookup before every create)."""
        match = _PLAIN_EQUALITY.fullmatch(query.filter)
        if (
            match is None
            or match.group(1).lower() not in _INDEXED[self._kind]
            or query.order_by
            or query.page_token
            or query.skip
            or query.show_deleted
            or len(query.filter) > MAX_FILTER_LENGTH
        ):
            return None
        key = key_column(self._kind, match.group(1))
        if key is None:
            return None
        column, folded = key
        return column, fold(match.group(2)) if folded else match.group(2)

    def get(self, caller: Caller, slug: str, resource_id: str, *, show_deleted: bool = False) -> T:
        with self._db.read() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.READ)
            return self._find(conn, tenant, resource_id, show_deleted=show_deleted)

    def batch_get(self, caller: Caller, slug: str, ids: list[str]) -> list[T]:
        """Live resources in the order asked; NOT_FOUND if any is missing."""
        if len(ids) > MAX_BATCH:
            raise TooManyItems.over("names", MAX_BATCH)
        with self._db.read() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.READ)
            found = self._resources.get_many(conn, tenant, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"{self._kind} {missing[0]!r} not found")
        return [found[i] for i in ids]

    def list(self, caller: Caller, slug: str, query: ListQuery) -> Page[T]:
        """A page in the asked order, with the total matching the filter.

        Positional pages (skip, SCIM's startIndex) continue from where the
        page before them ended when this process served it, if the tenant
        changed nothing since (its change cursor is the same): an IdP
        sweeping startIndex 1, 101, 201, ... costs an index seek per page,
        not a skip over every row before it. The total is counted again
        only when the tenant changed something, and not at all on a last
        page whose position is known (an `eq` lookup's only page)."""
        if query.skip < 0:
            raise InvalidField.of("skip", "must not be negative")
        seek = self._seek(query)
        with self._db.read() as conn:
            tenant = self._tenant(conn, caller, slug, Scope.READ)
            cursor = change_cursor(conn, tenant)
            if seek is not None:
                paging.page_size(query.page_size)  # refuses a negative size
                found = self._resources.find_live(conn, tenant, *seek)
                return Page(found, "", len(found), cursor)
            token_query = paging.fingerprint(
                self._kind, tenant.id, query.filter, query.order_by, query.show_deleted
            )
            after = paging.decode(query.page_token, token_query)
            offset = query.skip
            if after is None and offset:
                mark = self._bookmarks.get((token_query, offset))
                if mark is not None and mark[0] == cursor:
                    after, offset = mark[1], 0
            items, key = self._resources.list_page(
                conn,
                tenant,
                expression=query.filter,
                order_by=query.order_by,
                show_deleted=query.show_deleted,
                limit=paging.page_size(query.page_size),
                offset=offset,
                after=after,
            )
            if key is not None and not query.page_token:
                self._bookmarks.put((token_query, query.skip + len(items)), (cursor, key))
            if key is None and not query.page_token and (items or not query.skip):
                total = query.skip + len(items)  # the last page, at a known position
            else:
                total = self._total(conn, tenant, query, token_query, cursor)
        return Page(items, paging.encode(token_query, key), total, cursor)

    def _total(
        self, conn: sa.Connection, tenant: TenantRef, query: ListQuery, memo_key: str, cursor: str
    ) -> int:
        """How many resources match, counted once per change of the tenant."""
        counted = self._totals.get(memo_key)
        if counted is not None and counted[0] == cursor:
            total: int = counted[1]
            return total
        total = self._resources.count(conn, tenant, query.filter, query.show_deleted)
        self._totals.put(memo_key, (cursor, total))
        return total
