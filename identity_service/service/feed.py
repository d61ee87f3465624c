"""Wakes this process's change streams when a write commits, here or on
another replica.

The change log in the database stays the source of truth: a wake-up only
tells a stream to read the log again from its position, so a spurious one
costs a read and a missed one only delays. Three sources, fastest first:

- Commits of this process: the Database's commit listener, in the writer's
  thread.
- Commits of other replicas on PostgreSQL: a LISTEN connection
  (store/notify.py; the writers NOTIFY in the same transaction), in its own
  thread. Its notifications include this process's own commits, which
  may then wake the streams twice. Each time it starts listening (at
  first, and after it lost its connection) it wakes every stream, for the
  notifications sent while it did not listen.
- Everything else (SQLite files written by other processes, notifications
  lost while the listener was down): one poller for the whole process.
  Every `poll_seconds` it reads the last seq of each watched tenant (of
  every tenant while an all-tenants stream is open) and wakes the streams
  of those that moved, so idle streams cost one query per tenant, not one
  per stream.

The streams wait on the event loop, so the threads hand over to the loop
with call_soon_threadsafe and the waiters are touched only there."""

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from identity_service.domain.errors import StorageUnavailable
from identity_service.domain.models import TenantRef, now
from identity_service.store import changes as store
from identity_service.store.engine import Database
from identity_service.store.notify import Listener

log = logging.getLogger(__name__)


class Feed:
    """Per-tenant wake-ups for the streams of one event loop."""

    def __init__(self, db: Database, *, poll_seconds: float) -> None:
        self._db = db
        self._poll_seconds = poll_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self._listener: Listener | None = None
        # By tenant id; None: the streams of every tenant.
        self._waiters: dict[int | None, set[asyncio.Event]] = {}
        self._tenants: dict[int, TenantRef] = {}
        # The last poll: the last seq of each log it read, whether it read
        # every log, and when it began.
        self._seen: dict[int, int] = {}
        self._seen_every = False
        self._seen_at: datetime | None = None
        self.closing = False

    def open(self) -> None:
        """Start listening to commits (and, on PostgreSQL, to other
        replicas' notifications) and polling. Call it on the streams'
        event loop."""
        self._loop = asyncio.get_running_loop()
        self._db.add_commit_listener(self._committed)
        if self._db.engine.dialect.name == "postgresql":
            self._listener = Listener(self._db.engine, self._committed, self._listening)
            self._listener.start()
        self._poller = self._loop.create_task(self._poll())

    async def close(self) -> None:
        """Stop listening and polling, and wake every stream so it sees
        `closing` and ends; later subscribers find it closing at once."""
        self._db.remove_commit_listener(self._committed)
        self.closing = True
        self._wake_all()
        if self._listener is not None:
            await asyncio.to_thread(self._listener.close)
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.wait([self._poller])

    @contextmanager
    def subscribe(self, tenant: TenantRef | None) -> Iterator[asyncio.Event]:
        """An event set after each commit to `tenant`'s log (to any log when
        None, and on close); the subscriber clears it before it reads."""
        key = tenant.id if tenant is not None else None
        event = asyncio.Event()
        if self.closing:
            event.set()
        self._waiters.setdefault(key, set()).add(event)
        if tenant is not None:
            self._tenants[tenant.id] = tenant
        try:
            yield event
        finally:
            events = self._waiters[key]
            events.discard(event)
            if not events:
                del self._waiters[key]
                if key is not None:
                    del self._tenants[key]

    def seen_at(self, tenant: TenantRef | None, seqs: dict[int, int]) -> datetime | None:
        """When the last poll found `tenant`'s log (every log when None) at
        `seqs` (a seq by tenant id, absent: 0); None when it did not."""
        if tenant is None:
            matches = self._seen_every and self._seen == {t: s for t, s in seqs.items() if s}
        else:
            matches = tenant.id in self._seen and self._seen[tenant.id] == seqs.get(tenant.id, 0)
        return self._seen_at if matches else None

    def _committed(self, tenant_ids: frozenset[int]) -> None:
        # Any thread. A closed loop has no streams left to wake.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake, tenant_ids)

    def _listening(self) -> None:
        # The listener's thread: it did not hear the commits before now.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_all)

    def _wake(self, tenant_ids: frozenset[int]) -> None:
        for key in (*tenant_ids, None) if tenant_ids else ():
            for event in self._waiters.get(key, ()):
                event.set()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            if not self._waiters:
                continue
            every = None in self._waiters
            at = now()
            try:
                seqs = await asyncio.to_thread(self._last_seqs, set(self._tenants), every)
            except (StorageUnavailable, sa.exc.SQLAlchemyError):
                log.exception("cannot poll the change log; retrying in %gs", self._poll_seconds)
                continue
            self._wake(frozenset(t for t, seq in seqs.items() if self._seen.get(t, 0) != seq))
            self._seen, self._seen_every, self._seen_at = seqs, every, at

    def _last_seqs(self, tenant_ids: set[int], every: bool) -> dict[int, int]:
        """The last seq of each of these tenants' logs, or of every log."""
        with self._db.read() as conn:
            return {t.id: last for t, last in store.heads(conn, None if every else tenant_ids)}
