"""Wakes this process's change streams when a write commits.

The change log in the database stays the source of truth: a wake-up only
tells a stream to read the log again from its position. Writes commit in
worker threads; the streams wait on the event loop, so the commit listener
hands over to the loop with call_soon_threadsafe and the waiters are
touched only there. Commits elsewhere (other replicas) and missed wake-ups
are caught by one poller for the whole process: every `poll_seconds` it
reads the last seq of each watched tenant and wakes the streams of those
that moved, so idle streams cost one query per tenant, not one per stream."""

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from identity_service.domain.models import TenantRef
from identity_service.store import changes as store
from identity_service.store.engine import Database

log = logging.getLogger(__name__)


class Feed:
    """Per-tenant wake-ups for the streams of one event loop."""

    def __init__(self, db: Database, *, poll_seconds: float) -> None:
        self._db = db
        self._poll_seconds = poll_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._tenants: dict[int, TenantRef] = {}
        self.closing = False

    def open(self) -> None:
        """Start listening to commits and polling. Call it on the streams'
        event loop."""
        self._loop = asyncio.get_running_loop()
        self._db.add_commit_listener(self._committed)
        self._poller = self._loop.create_task(self._poll())

    async def close(self) -> None:
        """Stop listening and polling, and wake every stream so it sees
        `closing` and ends; later subscribers find it closing at once."""
        self._db.remove_commit_listener(self._committed)
        self.closing = True
        for events in self._waiters.values():
            for event in events:
                event.set()
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.wait([self._poller])

    @contextmanager
    def subscribe(self, tenant: TenantRef) -> Iterator[asyncio.Event]:
        """An event set after each commit to `tenant`'s log (and on close);
        the subscriber clears it before it reads the log."""
        event = asyncio.Event()
        if self.closing:
            event.set()
        self._waiters.setdefault(tenant.id, set()).add(event)
        self._tenants[tenant.id] = tenant
        try:
            yield event
        finally:
            events = self._waiters[tenant.id]
            events.discard(event)
            if not events:
                del self._waiters[tenant.id]
                del self._tenants[tenant.id]

    def _committed(self, tenant_ids: frozenset[int]) -> None:
        # Any thread. A closed loop has no streams left to wake.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake, tenant_ids)

    def _wake(self, tenant_ids: frozenset[int]) -> None:
        for tenant_id in tenant_ids:
            for event in self._waiters.get(tenant_id, ()):
                event.set()

    async def _poll(self) -> None:
        seen: dict[int, int] = {}
        while True:
            await asyncio.sleep(self._poll_seconds)
            tenants = list(self._tenants.values())
            if not tenants:
                continue
            try:
                seqs = await asyncio.to_thread(self._last_seqs, tenants)
            except sa.exc.SQLAlchemyError:
                log.exception("cannot poll the change log; retrying in %gs", self._poll_seconds)
                continue
            self._wake(frozenset(t for t, seq in seqs.items() if seen.get(t) != seq))
            seen = seqs

    def _last_seqs(self, tenants: list[TenantRef]) -> dict[int, int]:
        with self._db.read() as conn:
            return {tenant.id: store.last_seq(conn, tenant) for tenant in tenants}
