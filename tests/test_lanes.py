"""Where the servicers run their use cases (identity_service/servicers/lanes.py,
docs/decisions/0011, 0021): key lookups on the event loop on SQLite, in worker
threads on PostgreSQL; SQLite writes one at a time in the order they came, a
user's write on the event loop when the database is free."""

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from identity_service.domain.models import ListQuery
from identity_service.service.groups import Groups
from identity_service.service.users import Users
from identity_service.servicers.lanes import CHECKPOINT_EVERY, Lanes
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


def _write_once(db: Database, done: list[int]) -> int:
    """A write transaction that notes its commit: the thread it ran in."""
    with db.write() as conn:
        conn.execute(sa.text("SELECT 1"))
    done.append(threading.get_ident())
    return threading.get_ident()


def test_a_small_write_runs_on_the_event_loop_on_sqlite_when_the_database_is_free(
    db: Database,
) -> None:
    """A user's write on SQLite costs less than its hand-off to the writer
    thread; on PostgreSQL it is a network round trip, in a worker thread."""
    done: list[int] = []

    async def scenario() -> bool:
        lanes = Lanes(db)
        try:
            ident = await lanes.small_write(_write_once, db, done)
            return ident == threading.get_ident()
        finally:
            lanes.close()

    assert asyncio.run(scenario()) is (not db.is_postgresql)
    assert len(done) == 1


def test_a_small_write_waits_in_the_writer_thread_while_another_process_writes(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """Another process (here, another connection) holds SQLite's write lock:
    the write does not wait on the event loop, which goes on serving, but in
    the writer thread; it runs once, when the lock is free."""
    _write_once(sqlite_db, [])  # the file in WAL mode, as a served database is
    other = sqlite3.connect(tmp_path / "lanes.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    done: list[int] = []

    async def scenario() -> tuple[int, int]:
        lanes = Lanes(sqlite_db)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(tick())
        try:
            writing = asyncio.create_task(lanes.small_write(_write_once, sqlite_db, done))
            await asyncio.sleep(0.3)
            assert not writing.done()
            assert done == []
            other.execute("COMMIT")
            return await writing, ticks
        finally:
            ticking.cancel()
            lanes.close()

    ident, ticks = asyncio.run(scenario())
    other.close()
    assert ident != threading.get_ident()
    assert done == [ident]
    assert ticks >= 10  # the loop ran while the write waited


def test_a_small_write_queues_behind_this_process_writer_thread(sqlite_db: Database) -> None:
    """A write already holding the lock in the writer thread: the small write
    queues after it instead of blocking the event loop on the lock."""
    done: list[int] = []
    release = threading.Event()

    def long_write() -> int:
        with sqlite_db.write():
            release.wait(5)
        done.append(threading.get_ident())
        return threading.get_ident()

    async def scenario() -> tuple[int, int]:
        lanes = Lanes(sqlite_db)
        try:
            first = asyncio.create_task(lanes.write(long_write))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            second = asyncio.create_task(lanes.small_write(_write_once, sqlite_db, done))
            await asyncio.sleep(0)  # the small write tried, and queued
            assert time.monotonic() - started < 0.5
            release.set()
            return await first, await second
        finally:
            lanes.close()

    first, second = asyncio.run(scenario())
    assert first == second != threading.get_ident()
    assert done == [first, second]


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


def test_sqlite_commits_leave_the_wal_to_a_checkpoint_in_the_writer_thread(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """SQLite's auto-checkpoint syncs the database file in the committing
    thread, which may now be the event loop: it is off, and the writer thread
    checkpoints every CHECKPOINT_EVERY writes, so the WAL stays as small."""
    with sqlite_db.write() as conn:
        conn.execute(sa.text("CREATE TABLE scratch (value BLOB)"))
    wal = tmp_path / "lanes.db-wal"

    def insert() -> None:
        with sqlite_db.write() as conn:
            conn.execute(sa.text("INSERT INTO scratch VALUES (randomblob(2000))"))

    async def scenario() -> list[int]:
        lanes = Lanes(sqlite_db)
        sizes = []
        try:
            for _ in range(3):
                for _ in range(CHECKPOINT_EVERY):
                    await lanes.small_write(insert)
                await lanes.write(lambda: None)  # after the checkpoint queued before it
                sizes.append(wal.stat().st_size)
            with sqlite_db.read() as conn:
                autocheckpoint = conn.execute(sa.text("PRAGMA wal_autocheckpoint")).scalar()
        finally:
            lanes.close()
        assert autocheckpoint == 0
        return sizes

    sizes = asyncio.run(scenario())
    # Each round writes CHECKPOINT_EVERY pages or more; the WAL restarts after each checkpoint.
    assert sizes[0] >= CHECKPOINT_EVERY * 2000
    assert sizes[2] <= sizes[0] * 1.2, sizes


def test_a_checkpoint_waits_for_the_write_in_progress(sqlite_db: Database) -> None:
    """The checkpoint takes this process's write turn: a frame committed while
    it ran would stay in the WAL, and SQLite starts the WAL afresh only once
    every frame is in the database file (under steady writes the WAL would
    grow from one checkpoint to the next)."""
    release, checkpointed = threading.Event(), threading.Event()

    def hold_the_write_turn() -> None:
        with sqlite_db.write():
            release.wait(5)

    def checkpoint() -> None:
        sqlite_db.checkpoint()
        checkpointed.set()

    writer = threading.Thread(target=hold_the_write_turn)
    writer.start()
    time.sleep(0.1)
    checkpointer = threading.Thread(target=checkpoint)
    checkpointer.start()
    try:
        assert not checkpointed.wait(0.3)
    finally:
        release.set()
        writer.join(5)
    assert checkpointed.wait(5)
    checkpointer.join(5)
