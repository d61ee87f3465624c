"""Where the servicers run their use cases (identity_service/servicers/lanes.py,
docs/decisions/0011): key lookups on the event loop on SQLite, in worker
threads on PostgreSQL; SQLite writes one at a time in the order they came."""

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from identity_service.domain.models import ListQuery
from identity_service.service.groups import Groups
from identity_service.service.users import Users
from identity_service.servicers.lanes import Lanes
from identity_service.store.engine import Database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'lanes.db'}")
    yield db
    db.dispose()


def _runs_on_the_loop(db: Database, lane: str) -> bool:
    """Whether a call given to `lane` runs in the event loop's own thread."""

    async def scenario() -> bool:
        lanes = Lanes(db)
        try:
            ident: int = await getattr(lanes, lane)(threading.get_ident)
            return ident == threading.get_ident()
        finally:
            lanes.close()

    return asyncio.run(scenario())


def test_a_lookup_runs_on_the_event_loop_on_sqlite_and_in_a_worker_thread_on_postgresql(
    db: Database,
) -> None:
    """An index seek on SQLite costs less than a thread switch; on
    PostgreSQL it is a network round trip, which must not block the loop."""
    assert _runs_on_the_loop(db, "lookup") is (not db.is_postgresql)


def test_a_read_that_may_scan_runs_in_a_worker_thread(db: Database) -> None:
    """A scan would stall every other call on the event loop."""
    assert _runs_on_the_loop(db, "read") is False


def test_sqlite_writes_run_one_at_a_time_in_the_order_they_came(sqlite_db: Database) -> None:
    """SQLite has one writer: the writes queue in one thread instead of
    taking turns at its lock (on PostgreSQL they run at once)."""
    running: list[int] = []
    order: list[int] = []
    overlapped = False

    def write(number: int) -> int:
        nonlocal overlapped
        running.append(number)
        overlapped |= len(running) > 1
        time.sleep(0.01)
        order.append(number)
        running.remove(number)
        return threading.get_ident()

    async def scenario() -> set[int]:
        lanes = Lanes(sqlite_db)
        try:
            threads = await asyncio.gather(*(lanes.write(write, n) for n in range(8)))
        finally:
            lanes.close()
        return set(threads)

    threads = asyncio.run(scenario())
    assert len(threads) == 1
    assert threading.get_ident() not in threads
    assert order == list(range(8))
    assert not overlapped


@pytest.mark.parametrize(
    ("kind", "query", "lookup"),
    [
        ("user", ListQuery(filter='userName eq "bjensen"'), True),
        ("user", ListQuery(filter='USERNAME EQ "b\\"jensen"'), True),
        ("user", ListQuery(filter='externalId eq "701984"'), True),
        ("user", ListQuery(filter='id eq "2819c223"'), True),
        ("user", ListQuery(filter='displayName eq "Babs"'), False),
        ("user", ListQuery(filter='userName sw "b"'), False),
        ("user", ListQuery(filter='userName eq "a" or userName eq "b"'), False),
        ("user", ListQuery(filter='userName eq "a" and title pr'), False),
        ("user", ListQuery(filter='emails[value eq "a"]'), False),
        ("user", ListQuery(filter=""), False),
        ("user", ListQuery(filter='userName eq "bjensen"', show_deleted=True), False),
        ("user", ListQuery(filter='userName eq "bjensen"', skip=10), False),
        ("group", ListQuery(filter='displayName eq "Sales"'), True),
        ("group", ListQuery(filter='externalId eq "g1"'), True),
        ("group", ListQuery(filter='members.value eq "u1"'), False),
    ],
)
def test_a_key_lookup_is_one_equality_on_a_key_of_live_resources(
    sqlite_db: Database, kind: str, query: ListQuery, lookup: bool
) -> None:
    """Only an equality on an attribute an index of live resources covers
    reads a row or two whatever the tenant's size; anything else may scan."""
    use_cases = Users(sqlite_db) if kind == "user" else Groups(sqlite_db)
    assert use_cases.is_key_lookup(query) is lookup
