"""Where a servicer runs a use case. The servicers are coroutines on one
event loop; the use cases block on the database. Handing each call to a
worker thread cost more than a typical call itself (a thread switch, a
wake-up of the loop, and the GIL passed back and forth between threads), so
the lane depends on the engine and the call (docs/decisions/0011):

- lookup, a read of a few rows by key (or a member page of at most
  SMALL_PAGE): on SQLite it runs on the event loop
  itself (a WAL reader never waits for a writer, and an index seek takes
  tens of microseconds); on PostgreSQL it is a network round trip, so it
  runs in a worker thread.
- read, anything that may scan: in a worker thread on both engines.
- write: on SQLite in one writer thread, in the order the calls came
  (SQLite has one writer at a time; several threads would only take turns
  at its lock); on PostgreSQL in worker threads, where the writes of
  different tenants run at once.
- small_write, a write of a few rows (one user and its change record): on
  SQLite it runs on the event loop when no writer holds the write lock at
  that instant, and else queues for the writer thread like any write. The
  hand-off to the thread and back, and the GIL passed between the two
  threads, cost more than such a write (docs/decisions/0021). A write whose
  size follows the request (a group's members) never runs on the loop."""

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from identity_service.store.engine import Database, WriteWouldWait

# A page of members this small is a lookup: an index range of a hundred
# rows at most.
SMALL_PAGE = 100
# SQLite: writes between two checkpoints of the WAL, run in the writer thread
# (Database.checkpoint_apart). A user's write adds a few pages; SQLite's own
# auto-checkpoint comes every 1,000 pages.
CHECKPOINT_EVERY = 100

_log = logging.getLogger("identity_service.lanes")

P = ParamSpec("P")
T = TypeVar("T")


class Lanes:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._inline_lookups = not db.is_postgresql
        self._writer = (
            None
            if db.is_postgresql
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        )
        self._writes = 0  # since the last checkpoint
        db.checkpoint_apart()

    async def lookup(self, use_case: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A read of a few rows found by key (see the module's docstring)."""
        if self._inline_lookups:
            return use_case(*args, **kwargs)
        return await asyncio.to_thread(use_case, *args, **kwargs)

    async def read(self, use_case: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A read that may scan many rows: in a worker thread."""
        return await asyncio.to_thread(use_case, *args, **kwargs)

    async def write(self, use_case: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A write transaction (see the module's docstring)."""
        if self._writer is None:
            return await asyncio.to_thread(use_case, *args, **kwargs)
        # As asyncio.to_thread does: the call sees the RPC's context.
        call = functools.partial(contextvars.copy_context().run, use_case, *args, **kwargs)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._writer, call)
        finally:
            self._written(self._writer)

    async def small_write(self, use_case: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A write transaction of a few rows (see the module's docstring)."""
        if self._writer is not None:
            try:
                with self._db.now_or_never():
                    result = use_case(*args, **kwargs)
            except WriteWouldWait:
                pass  # nothing was done: queue it (write() counts it)
            else:
                self._written(self._writer)
                return result
        return await self.write(use_case, *args, **kwargs)

    def _written(self, writer: ThreadPoolExecutor) -> None:
        """Count a write, and have the writer thread
        checkpoint the WAL every CHECKPOINT_EVERY of them."""
        self._writes += 1
        if self._writes >= CHECKPOINT_EVERY:
            self._writes = 0
            writer.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            self._db.checkpoint()
        except Exception:  # the next one may succeed; the WAL only grows meanwhile
            _log.warning("checkpointing the WAL failed", exc_info=True)

    def close(self) -> None:
        """Let the writer thread end once the writes queued have run."""
        if self._writer is not None:
            self._writer.shutdown(wait=False)
