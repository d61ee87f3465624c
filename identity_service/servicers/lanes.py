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
  different tenants run at once."""

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from identity_service.store.engine import Database

# A page of members this small is a lookup: an index range of a hundred
# rows at most.
SMALL_PAGE = 100

P = ParamSpec("P")
T = TypeVar("T")


class Lanes:
    def __init__(self, db: Database) -> None:
        self._inline_lookups = not db.is_postgresql
        self._writer = (
            None
            if db.is_postgresql
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        )

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
        return await asyncio.get_running_loop().run_in_executor(self._writer, call)

    def close(self) -> None:
        """Let the writer thread end once the writes queued have run."""
        if self._writer is not None:
            self._writer.shutdown(wait=False)
