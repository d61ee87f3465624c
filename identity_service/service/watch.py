"""Following change logs (WatchChanges): the backlog after a cursor, then
each change as it commits, with checkpoints.

A stream reads the log from its position after every wake-up (service/feed.py,
which also polls) and at every checkpoint, so the database decides what is sent:
records go out in seq order, each once, and a missed wake-up only delays.
A position covers filtered-out records too, so checkpoints advance past
them. Seq order is commit order (store/changes.py): once a read saw seq n,
every record before n was visible to it, so nothing is skipped.

A tenant credential follows its tenant's log. A platform credential that
names no tenant ("tenants/-") follows every tenant's log: its position is
a seq per tenant, and each read takes the tenants whose log moved."""

import asyncio
import contextlib
import random
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

from identity_service.domain.changes import Change, ChangeKind, Checkpoint, ResourceType
from identity_service.domain.errors import ShuttingDown
from identity_service.domain.models import Caller, Scope, TenantRef, now
from identity_service.service.access import OWN_TENANT, Access, check_token_expiry, require
from identity_service.service.changes import (
    check_kept,
    decode_cursor,
    decode_positions,
    encode_cursor,
    encode_positions,
)
from identity_service.service.feed import Feed
from identity_service.store import changes as store
from identity_service.store.engine import Database

# Records read from the log at a time.
_PAGE = 500
# Records a stream that had caught up reads after a wake-up, on SQLite on the
# event loop (see Watch.follow); a fuller page is read again in a thread.
_CAUGHT_UP_PAGE = 100

Event = Change | Checkpoint


@dataclass(frozen=True)
class Filters:
    resource_types: Sequence[ResourceType] = ()
    kinds: Sequence[ChangeKind] = ()


class _Position(Protocol):
    """Where a stream is in the log(s) it follows."""

    @property
    def tenant(self) -> TenantRef | None:
        """The tenant whose commits wake the stream; None: every tenant's."""

    def read(self, conn: sa.Connection, filters: Filters, limit: int) -> tuple[list[Change], bool]:
        """The next records, about `limit` at most, moving the position past
        them and past the filtered-out records the read saw; and whether more
        are waiting. CURSOR_EXPIRED when records after the position were
        pruned."""

    @property
    def cursor(self) -> str: ...

    @property
    def seqs(self) -> dict[int, int]:
        """The position in each log: a seq by tenant id (absent: 0)."""


@dataclass
class _TenantPosition:
    tenant: TenantRef
    seq: int

    def read(self, conn: sa.Connection, filters: Filters, limit: int) -> tuple[list[Change], bool]:
        last = store.last_seq(conn, self.tenant)
        records, self.seq, more = _read_log(conn, self.tenant, self.seq, last, filters, limit)
        return records, more

    @property
    def cursor(self) -> str:
        return encode_cursor(self.tenant.id, self.seq)

    @property
    def seqs(self) -> dict[int, int]:
        return {self.tenant.id: self.seq}


@dataclass
class _AllTenantsPosition:
    seqs: dict[int, int] = field(default_factory=dict)
    tenant: None = None

    def read(self, conn: sa.Connection, filters: Filters, limit: int) -> tuple[list[Change], bool]:
        """Up to about `limit`, from the tenants whose log moved, by tenant
        id; a tenant's records stay in order, tenants interleave."""
        records: list[Change] = []
        full = False
        for tenant, last in store.heads(conn):
            after = self.seqs.get(tenant.id, 0)
            if last <= after:
                continue
            if len(records) >= limit:
                return records, True
            page, self.seqs[tenant.id], more = _read_log(conn, tenant, after, last, filters, limit)
            records += page
            full = full or more
        return records, full

    @property
    def cursor(self) -> str:
        return encode_positions(self.seqs)


def _read_log(
    conn: sa.Connection, tenant: TenantRef, after: int, last: int, filters: Filters, limit: int
) -> tuple[list[Change], int, bool]:
    """A page of one log after `after`, the position it reaches (its last
    record when the page is full, else `last`, the log's end as this read
    saw it, or beyond), and whether the page was full."""
    if last <= after:
        return [], after, False
    check_kept(conn, tenant, after)
    page = store.page(
        conn,
        tenant,
        after=after,
        limit=limit,
        resource_types=filters.resource_types,
        kinds=filters.kinds,
    )
    if len(page) == limit:
        return page, page[-1].seq, True
    # Records after `last` that committed since it was read may be in the page.
    return page, max(last, page[-1].seq) if page else last, False


class Watch:
    def __init__(self, db: Database, feed: Feed, *, checkpoint_seconds: float) -> None:
        self._db = db
        self._feed = feed
        self._checkpoint_seconds = checkpoint_seconds
        self._inline_reads = not db.is_postgresql
        # Credential id -> when its last recheck passed (event loop time).
        self._rechecked: dict[str, float] = {}

    async def follow(
        self, caller: Caller, slug: str, *, start_cursor: str, filters: Filters
    ) -> AsyncGenerator[Event, None]:
        """The records after `start_cursor` (after the last one now when
        empty), then new ones as they commit; a checkpoint once the backlog
        is sent and about every `checkpoint_seconds`, each after checking the
        caller's credential again (streams outlive their authentication).
        An all-tenants stream also checkpoints after every batch of records,
        since a record's cursor is a position in its own tenant's log only.
        On shutdown: a last checkpoint, then ShuttingDown.

        The log is read only when the feed wakes the stream: an idle stream's
        checkpoint costs no query, and its time is when the log was last seen
        at its position (by the stream, or by the feed's poller).

        The backlog, and what follows a full page, is read in a worker
        thread. Once the stream has caught up, a wake-up finds the few
        records of the commits since the last read: on SQLite that read is
        a lookup and runs on the event loop, as other lookups do (decision
        0011). In a thread, each row the driver stepped through had to win
        the interpreter lock back from the loop (up to 5 ms each time), and
        a 20-row read took up to 80 ms under a write load (decision 0014)."""
        require(caller, Scope.WATCH)
        position = await asyncio.to_thread(self._start, caller, slug, start_cursor)
        every_batch = position.tenant is None
        with self._feed.subscribe(position.tenant) as wake:
            loop = asyncio.get_running_loop()
            checkpoint_due = loop.time()  # the first once the backlog is sent
            woken = True  # the backlog
            caught_up = False
            read_at = now()
            while True:
                if woken:
                    wake.clear()
                    read_at = now()
                    if caught_up and self._inline_reads:
                        records, more = self._read(position, filters, _CAUGHT_UP_PAGE)
                    else:
                        records, more = await asyncio.to_thread(
                            self._read, position, filters, _PAGE
                        )
                    caught_up = not more
                    for change in records:
                        yield change
                    if self._feed.closing:
                        yield Checkpoint(position.cursor, read_at)
                        raise ShuttingDown(
                            "the server is shutting down: resume from the checkpoint"
                        )
                    if every_batch and records:
                        yield Checkpoint(position.cursor, read_at)
                    if more:
                        continue
                if loop.time() >= checkpoint_due:
                    await self._recheck(caller)
                    seen_at = self._feed.seen_at(position.tenant, position.seqs)
                    yield Checkpoint(position.cursor, max(read_at, seen_at or read_at))
                    # Jitter, so streams opened together do not checkpoint together.
                    spread = random.uniform(0.8, 1.0)  # noqa: S311 - not a secret
                    checkpoint_due = loop.time() + self._checkpoint_seconds * spread
                woken = False
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(checkpoint_due - loop.time(), 0)):
                        woken = await wake.wait()

    async def _recheck(self, caller: Caller) -> None:
        """Access.recheck, at most once per checkpoint interval for all the
        streams of a credential."""
        # A token's expiry is the stream's own: the shared recheck would not see it.
        check_token_expiry(caller)
        loop = asyncio.get_running_loop()
        passed = self._rechecked.get(caller.credential_id)
        if passed is not None and loop.time() - passed < self._checkpoint_seconds:
            return
        await asyncio.to_thread(Access(self._db).recheck, caller)
        self._rechecked[caller.credential_id] = loop.time()

    def _start(self, caller: Caller, slug: str, start_cursor: str) -> _Position:
        with self._db.read() as conn:
            if caller.is_platform and slug == OWN_TENANT:
                if not start_cursor:
                    return _AllTenantsPosition({t.id: last for t, last in store.heads(conn)})
                return _AllTenantsPosition(decode_positions(start_cursor))
            tenant = Access.tenant(conn, caller, slug)
            if not start_cursor:
                return _TenantPosition(tenant, store.last_seq(conn, tenant))
            return _TenantPosition(tenant, decode_cursor(start_cursor, tenant.id))

    def _read(self, position: _Position, filters: Filters, limit: int) -> tuple[list[Change], bool]:
        with self._db.read() as conn:
            return position.read(conn, filters, limit)
