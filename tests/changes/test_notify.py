"""Watchers are woken across replicas on PostgreSQL: a write NOTIFYs in its
transaction, every replica LISTENs (store/notify.py) and wakes its streams
(service/feed.py), which then read the log. The replicas here poll the log
only once a minute, so only a notification explains a wake-up within
seconds. PostgreSQL only: a SQLite file has no notifications."""

import logging
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar, cast

import grpc
import psycopg
import pytest
import sqlalchemy as sa
from identity.v1 import change_service_pb2_grpc, group_service_pb2_grpc, user_service_pb2_grpc
from sqlalchemy.engine import make_url

from identity_service.domain.changes import Actor, ChangeKind, NewChange
from identity_service.domain.models import TenantRef, now
from identity_service.store import changes, migrate, notify
from identity_service.store.engine import Database
from identity_service.store.tenants import get_tenant
from tests.changes.conftest import watcher
from tests.changes.support import Log, kinds
from tests.conftest import ServerThread
from tests.groups.support import Directory
from tests.helpers import TenantAccess, new_tenant
from tests.postgres import Postgres

T = TypeVar("T")

# Far longer than any wait below: polling cannot explain a wake-up.
POLL_SECONDS = 60.0
# How long a notified watcher may take to see a change.
WAKE_SECONDS = 5.0


class Rollback(Exception):
    """Raised to roll a write transaction back."""


def _until(condition: Callable[[], T], timeout: float = 10.0) -> T:
    """The first truthy value of `condition`, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {condition}")
        time.sleep(0.02)
    return value


@contextmanager
def _admin(url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection to the server of `url`, not to its database."""
    maintenance = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        yield conn


def _listeners(url: str) -> set[int]:
    """The backend pids of the listener connections to `url`'s database
    that are listening (their last statement was LISTEN)."""
    with _admin(url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s"
            " AND application_name = %s AND query LIKE 'LISTEN%%'",
            (make_url(url).database, notify.APPLICATION_NAME),
        )
        return {cast(int, pid) for (pid,) in rows}


def _terminate(url: str, pids: set[int]) -> None:
    with _admin(url) as conn:
        for pid in pids:
            terminated = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
            assert terminated == (True,)


@contextmanager
def _connections_refused(url: str) -> Iterator[None]:
    """No new connection to `url`'s database is accepted meanwhile."""
    name = make_url(url).database
    with _admin(url) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            yield
        finally:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def _listener_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == notify.APPLICATION_NAME]


@pytest.fixture(scope="module")
def url(postgres: Postgres) -> str:
    """A migrated database of this module alone."""
    database_url = postgres.database()
    database = Database.from_url(database_url)
    try:
        migrate.upgrade(database.engine)
    finally:
        database.dispose()
    return database_url


@dataclass(frozen=True)
class Replica:
    """One identity_service over its own Database (engine and pool)."""

    db: Database
    channel: grpc.Channel

    @property
    def changes(self) -> change_service_pb2_grpc.ChangeServiceStub:
        return change_service_pb2_grpc.ChangeServiceStub(self.channel)

    def directory(self, tenant: TenantAccess) -> Directory:
        """`tenant`'s users and groups, written through this replica."""
        users = user_service_pb2_grpc.UserServiceStub(self.channel)
        groups = group_service_pb2_grpc.GroupServiceStub(self.channel)
        return Directory(users, groups, tenant)

    def log(self, tenant: TenantAccess) -> Log:
        """`tenant`'s change log, read through this replica."""
        return watcher(self.db, self.changes, tenant)


@pytest.fixture(scope="module")
def replicas(url: str) -> Iterator[tuple[Replica, Replica]]:
    """Two replicas on one PostgreSQL database, both polling once a minute."""
    started: list[tuple[ServerThread, Database, grpc.Channel]] = []
    threads = len(_listener_threads())  # other tests' servers may run
    try:
        for _ in range(2):
            db = Database.from_url(url)
            server = ServerThread(
                db, url, watch_poll_seconds=POLL_SECONDS, watch_checkpoint_seconds=POLL_SECONDS
            )
            channel = grpc.insecure_channel(f"127.0.0.1:{server.running.port}")
            started.append((server, db, channel))
        # Each listener listens before a test writes.
        _until(lambda: len(_listeners(url)) == 2)
        a, b = (Replica(db, channel) for _, db, channel in started)
        yield a, b
    finally:
        for server, db, channel in started:
            channel.close()
            server.stop()
            db.dispose()
    assert len(_listener_threads()) == threads, "a stopped server left its listener running"
    _until(lambda: not _listeners(url))


def test_a_write_through_one_replica_wakes_a_watcher_on_the_other(
    replicas: tuple[Replica, Replica],
) -> None:
    """B's watcher sees a user created through A within seconds, though B
    polls the log only once a minute."""
    a, b = replicas
    tenant = new_tenant(a.db)
    with b.log(tenant).watch() as stream:
        stream.until_checkpoint()
        started = time.monotonic()
        created = a.directory(tenant).user("ann")
        [live] = stream.changes(1, timeout=WAKE_SECONDS)

    assert time.monotonic() - started < WAKE_SECONDS
    assert kinds([live]) == ["USER_CREATED"]
    assert live.resource == created.name


def test_writes_through_either_replica_wake_the_watchers_of_both(
    replicas: tuple[Replica, Replica],
) -> None:
    """Writes through A and B in turn each reach a watcher on each replica
    at once: the writer's own (commit listener) and the other (NOTIFY)."""
    a, b = replicas
    tenant = new_tenant(a.db)
    log_a, log_b = a.log(tenant), b.log(tenant)
    with log_a.watch() as on_a, log_b.watch() as on_b:
        on_a.until_checkpoint()
        on_b.until_checkpoint()
        for writer in (a, b, a, b):
            created = writer.directory(tenant).user()
            for stream in (on_a, on_b):
                [live] = stream.changes(1, timeout=WAKE_SECONDS)
                assert live.resource == created.name


def test_a_watcher_is_woken_again_after_the_listener_connection_is_killed(
    url: str, replicas: tuple[Replica, Replica]
) -> None:
    """Both replicas' LISTEN backends are terminated; they reconnect, and a
    later write through A still wakes B's watcher within seconds."""
    a, b = replicas
    tenant = new_tenant(a.db)
    with b.log(tenant).watch() as stream:
        stream.until_checkpoint()
        killed = _listeners(url)
        assert len(killed) == 2
        _terminate(url, killed)
        _until(lambda: len(_listeners(url) - killed) == 2)
        created = a.directory(tenant).user()
        [live] = stream.changes(1, timeout=WAKE_SECONDS)

    assert live.resource == created.name


def test_a_commit_the_listener_missed_reaches_the_watcher_once_it_listens_again(
    url: str, replicas: tuple[Replica, Replica], db: Database
) -> None:
    """A commit made while the listeners cannot connect notifies no one;
    once B's listens again it wakes every stream, which reads the log and
    finds the change (B polls the log only once a minute)."""
    a, b = replicas
    access = new_tenant(a.db)
    tenant = _ref(db, access.slug)
    with b.log(access).watch() as stream, db.engine.connect() as writer:
        stream.until_checkpoint()
        with _connections_refused(url):
            _terminate(url, _listeners(url))
            _until(lambda: not _listeners(url))
            with writer.begin():
                _append_to(writer, tenant)
        [live] = stream.changes(1, timeout=WAKE_SECONDS)

    assert live.seq == _last_seq(db, tenant)


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = Database.from_url(url)
    yield database
    database.dispose()


@dataclass
class Heard:
    """What a Listener on the test database called back, and its backend."""

    listener: notify.Listener
    batches: queue.Queue[frozenset[int]]
    listening: queue.Queue[None]  # one item each time it starts listening
    pid: int


@pytest.fixture
def heard(db: Database, url: str) -> Iterator[Heard]:
    """A started Listener, listening; closed at the end."""
    batches: queue.Queue[frozenset[int]] = queue.Queue()
    listening: queue.Queue[None] = queue.Queue()
    before = _listeners(url)
    threads = len(_listener_threads())
    listener = notify.Listener(db.engine, batches.put, lambda: listening.put(None))
    listener.start()
    try:
        listening.get(timeout=WAKE_SECONDS)
        [pid] = _listeners(url) - before
        yield Heard(listener, batches, listening, pid)
    finally:
        listener.close()
    assert len(_listener_threads()) == threads


def _ref(db: Database, slug: str) -> TenantRef:
    with db.read() as conn:
        found = get_tenant(conn, slug)
    assert found is not None
    return TenantRef(found.id, found.slug)


def _tenant(db: Database) -> TenantRef:
    return _ref(db, new_tenant(db).slug)


def _last_seq(db: Database, tenant: TenantRef) -> int:
    with db.read() as conn:
        return changes.last_seq(conn, tenant)


def _append_to(conn: sa.Connection, tenant: TenantRef) -> None:
    """One record in `tenant`'s log, in the open transaction of `conn`."""
    user_id = uuid.uuid4().hex
    record = NewChange(
        ChangeKind.USER_CREATED, user_id, f"tenants/{tenant.slug}/users/{user_id}", {}
    )
    changes.append(conn, tenant, [record], actor=Actor("test"), request_id="", at=now())


def _append(db: Database, tenant: TenantRef, *, commit: bool) -> None:
    """One record in `tenant`'s log, committed or rolled back."""
    try:
        with db.write() as conn:
            _append_to(conn, tenant)
            if not commit:
                raise Rollback
    except Rollback:
        pass


def _heard_until(heard: Heard, tenant: TenantRef) -> set[int]:
    """Every tenant id heard up to and including the batch with `tenant`'s."""
    found: set[int] = set()
    while tenant.id not in found:
        found |= heard.batches.get(timeout=WAKE_SECONDS)
    return found


def test_a_listener_hears_committed_appends_only(db: Database, heard: Heard) -> None:
    """A rolled-back append notifies no one; a committed one notifies its
    tenant's id. Creating a tenant notifies too, and notifications arrive
    in commit order: once the last created tenant is heard, nothing more
    of the others is pending."""
    committed, rolled_back, last = _tenant(db), _tenant(db), _tenant(db)
    _heard_until(heard, last)
    _append(db, rolled_back, commit=False)
    _append(db, committed, commit=True)

    assert rolled_back.id not in _heard_until(heard, committed)


def test_a_listener_reconnects_and_says_so_after_its_backend_is_killed(
    db: Database, url: str, heard: Heard
) -> None:
    """Notifications sent while it was away are lost, so once it listens
    again it calls `listening` again; later appends are heard again."""
    tenant = _tenant(db)
    _terminate(url, {heard.pid})

    heard.listening.get(timeout=WAKE_SECONDS)
    assert _listeners(url) - {heard.pid}
    _append(db, tenant, commit=True)
    _heard_until(heard, tenant)


def test_closing_a_listener_ends_its_thread_and_its_connection(url: str, heard: Heard) -> None:
    """close() returns within a second, its thread ended, and the server
    soon has no listening backend of it left."""
    threads = len(_listener_threads())
    started = time.monotonic()
    heard.listener.close()

    assert time.monotonic() - started < 1.0
    assert len(_listener_threads()) == threads - 1
    _until(lambda: heard.pid not in _listeners(url))


class _Refusing:
    """A TCP port that accepts connections and closes them at once, as a
    database that is down but reachable would; counts the attempts."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self.port: int = self._socket.getsockname()[1]
        self.attempts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                accepted, _ = self._socket.accept()
            except TimeoutError:
                continue
            accepted.close()
            self.attempts += 1

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def refusing() -> Iterator[_Refusing]:
    server = _Refusing()
    yield server
    server.close()


def test_an_outage_is_logged_once_not_per_retry(
    refusing: _Refusing, caplog: pytest.LogCaptureFixture
) -> None:
    """While the database drops every connection the listener retries
    with backoff and warns once; close() does not wait out the backoff."""
    engine = sa.create_engine(f"postgresql+psycopg://roster@127.0.0.1:{refusing.port}/roster")
    listener = notify.Listener(engine, lambda _: None, lambda: None)
    with caplog.at_level(logging.WARNING, logger=notify.__name__):
        listener.start()
        try:
            _until(lambda: refusing.attempts >= 4)
        finally:
            started = time.monotonic()
            listener.close()
            engine.dispose()

    assert time.monotonic() - started < 1.0
    warnings = [r for r in caplog.records if r.name == notify.__name__]
    assert len(warnings) == 1
    assert "not listening for change notifications" in warnings[0].getMessage()
