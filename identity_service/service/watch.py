"""Following a tenant's change log (WatchChanges): the backlog after a
cursor, then each change as it commits, with checkpoints.

A stream reads the log from its position after every wake-up (service/feed.py,
which also polls) and at every checkpoint, so the database decides what is sent:
records go out in seq order, each once, and a missed wake-up only delays.
A position covers filtered-out records too, so checkpoints advance past
them. Seq order is commit order (store/changes.py): once a read saw seq n,
every record before n was visible to it, so nothing is skipped."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from identity_service.domain.changes import Change, ChangeKind, Checkpoint, ResourceType
from identity_service.domain.errors import ShuttingDown
from identity_service.domain.models import Caller, Scope, TenantRef, now
from identity_service.service.access import Access, require
from identity_service.service.changes import check_kept, decode_cursor
from identity_service.service.feed import Feed
from identity_service.store import changes as store
from identity_service.store.engine import Database

# Records read from the log at a time.
_PAGE = 500

Event = Change | Checkpoint


@dataclass(frozen=True)
class Filters:
    resource_types: Sequence[ResourceType] = ()
    kinds: Sequence[ChangeKind] = ()


@dataclass(frozen=True)
class _Read:
    changes: list[Change]
    checkpoint: Checkpoint
    more: bool  # the page was full: read on at once


class Watch:
    def __init__(self, db: Database, feed: Feed, *, checkpoint_seconds: float) -> None:
        self._db = db
        self._feed = feed
        self._checkpoint_seconds = checkpoint_seconds

    async def follow(
        self, caller: Caller, slug: str, *, start_cursor: str, filters: Filters
    ) -> AsyncGenerator[Event, None]:
        """The records after `start_cursor` (after the last one now when
        empty), then new ones as they commit; a checkpoint once the backlog
        is sent and every `checkpoint_seconds`, each after checking the
        caller's credential again (streams outlive their authentication).
        On shutdown: a last checkpoint, then ShuttingDown."""
        require(caller, Scope.WATCH)
        tenant, seq = await asyncio.to_thread(self._start, caller, slug, start_cursor)
        with self._feed.subscribe(tenant) as wake:
            loop = asyncio.get_running_loop()
            checkpoint_due = loop.time()  # the first once the backlog is sent
            while True:
                wake.clear()
                read = await asyncio.to_thread(self._read, tenant, seq, filters)
                for change in read.changes:
                    yield change
                seq = read.checkpoint.seq
                if self._feed.closing:
                    yield read.checkpoint
                    raise ShuttingDown("the server is shutting down: resume from the checkpoint")
                if read.more:
                    continue
                if loop.time() >= checkpoint_due:
                    await asyncio.to_thread(Access(self._db).recheck, caller)
                    yield read.checkpoint
                    checkpoint_due = loop.time() + self._checkpoint_seconds
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(checkpoint_due - loop.time(), 0)):
                        await wake.wait()

    def _start(self, caller: Caller, slug: str, start_cursor: str) -> tuple[TenantRef, int]:
        with self._db.read() as conn:
            tenant = Access.tenant(conn, caller, slug)
            if not start_cursor:
                return tenant, store.last_seq(conn, tenant)
            after = decode_cursor(start_cursor, tenant.id)
            check_kept(conn, tenant, after)
            return tenant, after

    def _read(self, tenant: TenantRef, after: int, filters: Filters) -> _Read:
        """The next page after `after`, and the position it reaches: the last
        record when the page is full, else the log's end as the read began."""
        at = now()
        with self._db.read() as conn:
            last = store.last_seq(conn, tenant)
            page = store.page(
                conn,
                tenant,
                after=after,
                limit=_PAGE,
                resource_types=filters.resource_types,
                kinds=filters.kinds,
            )
        more = len(page) == _PAGE
        reached = page[-1].seq if more else max(last, after, *(c.seq for c in page[-1:]))
        return _Read(page, Checkpoint(tenant.id, reached, at), more)
