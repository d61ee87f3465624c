"""Retention: pruning deletes a prefix of each tenant's log, and a cursor
into the pruned part is FAILED_PRECONDITION with CURSOR_EXPIRED (the client
lists again)."""

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from identity.v1 import change_service_pb2_grpc, user_pb2, user_service_pb2, user_service_pb2_grpc

from identity_service.domain.changes import Checkpoint
from identity_service.domain.errors import CursorExpired
from identity_service.domain.models import now
from identity_service.service import changes
from identity_service.service.access import Access
from identity_service.service.changes import Changes
from identity_service.service.feed import Feed
from identity_service.service.tenants import OPERATOR
from identity_service.service.watch import Filters, Watch
from identity_service.store import migrate
from identity_service.store.engine import Database
from tests.changes.conftest import watcher
from tests.changes.support import Log
from tests.conftest import ServerThread
from tests.helpers import TenantAccess, error_info, new_credential, new_tenant


@pytest.fixture
def private_db(tmp_path: Path) -> Iterator[tuple[Database, str]]:
    """A migrated database of this test alone: pruning it touches no other test."""
    url = f"sqlite:///{tmp_path / 'roster.db'}"
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    yield db, url
    db.dispose()


@pytest.fixture
def channel(private_db: tuple[Database, str]) -> Iterator[grpc.Channel]:
    server = ServerThread(*private_db)
    with grpc.insecure_channel(f"127.0.0.1:{server.running.port}") as opened:
        yield opened
    server.stop()


@pytest.fixture
def tenant(private_db: tuple[Database, str]) -> TenantAccess:
    return new_tenant(private_db[0])


@pytest.fixture
def log(private_db: tuple[Database, str], channel: grpc.Channel, tenant: TenantAccess) -> Log:
    return watcher(private_db[0], change_service_pb2_grpc.ChangeServiceStub(channel), tenant)


def _create_user(channel: grpc.Channel, tenant: TenantAccess) -> None:
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=user_pb2.User(user_name="ann")
    )
    user_service_pb2_grpc.UserServiceStub(channel).CreateUser(request, metadata=tenant.metadata)


def _prune_all(db: Database) -> int:
    return Changes(db).prune(OPERATOR, before=now() + timedelta(seconds=1))


def test_pruning_keeps_the_records_within_retention(
    private_db: tuple[Database, str], log: Log
) -> None:
    """Records younger than the retention stay."""
    before = log.all()

    deleted = Changes(private_db[0]).prune(OPERATOR, before=now() - timedelta(days=30))

    assert deleted == 0
    assert log.all() == before


def test_pruning_deletes_a_prefix_and_the_log_goes_on(
    private_db: tuple[Database, str], channel: grpc.Channel, tenant: TenantAccess, log: Log
) -> None:
    """After pruning the log starts later; seqs go on without reuse."""
    deleted = _prune_all(private_db[0])
    _create_user(channel, tenant)

    assert deleted == 3
    assert [r.seq for r in log.all()] == [4]


def _list(log: Log, cursor: str) -> object:
    return log.since(cursor)


def _watch(log: Log, cursor: str) -> object:
    raise log.watch(start_cursor=cursor).error()


@pytest.mark.parametrize("read", [_list, _watch], ids=["ListChanges", "WatchChanges"])
def test_a_cursor_into_the_pruned_part_has_expired(
    private_db: tuple[Database, str],
    channel: grpc.Channel,
    tenant: TenantAccess,
    log: Log,
    read: Callable[[Log, str], object],
) -> None:
    """FAILED_PRECONDITION with CURSOR_EXPIRED: records after it are gone."""
    first = log.all()[0]
    _prune_all(private_db[0])

    with pytest.raises(grpc.RpcError) as raised:
        read(log, first.cursor)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(raised.value).reason == "CURSOR_EXPIRED"


def test_the_cursor_of_the_last_pruned_record_still_resumes(
    private_db: tuple[Database, str], channel: grpc.Channel, tenant: TenantAccess, log: Log
) -> None:
    """Nothing after the last pruned record is gone, so its cursor works."""
    last = log.all()[-1]
    _prune_all(private_db[0])
    _create_user(channel, tenant)

    with log.watch(start_cursor=last.cursor) as stream:
        streamed, _ = stream.until_checkpoint()

    assert [r.seq for r in log.since(last.cursor)] == [4]
    assert [r.seq for r in streamed] == [4]


def test_an_all_tenants_cursor_into_a_pruned_log_has_expired(
    private_db: tuple[Database, str], channel: grpc.Channel, tenant: TenantAccess
) -> None:
    """Resuming every tenant's log needs every log kept after the cursor."""
    secret = new_credential(private_db[0], None, ("watch",))
    everything = Log(
        change_service_pb2_grpc.ChangeServiceStub(channel),
        "tenants/-",
        (("authorization", f"Bearer {secret}"),),
    )
    with everything.watch() as stream:
        _, checkpoint = stream.until_checkpoint()
    _create_user(channel, tenant)
    _prune_all(private_db[0])

    with pytest.raises(grpc.RpcError) as raised:
        _watch(everything, checkpoint.cursor)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(raised.value).reason == "CURSOR_EXPIRED"


def test_an_open_stream_that_falls_behind_retention_ends_with_cursor_expired(
    private_db: tuple[Database, str], tenant: TenantAccess
) -> None:
    """Records pruned before an open stream read them are never skipped
    silently: the stream ends with CURSOR_EXPIRED and the client re-lists."""
    db = private_db[0]
    caller = Access(db).authenticate(new_credential(db, tenant.slug, ("watch",)))

    async def follow() -> None:
        feed = Feed(db, poll_seconds=3600)
        feed.open()
        try:
            events = Watch(db, feed, checkpoint_seconds=3600).follow(
                caller, "-", start_cursor="", filters=Filters()
            )
            assert isinstance(await anext(events), Checkpoint)  # at the end of the log
            # The stream waits for a wake-up; these commits give it one, but
            # it reads the log only after the records are pruned.
            new_credential(db, tenant.slug, ("read",))
            _prune_all(db)
            with pytest.raises(CursorExpired):
                await anext(events)
        finally:
            await feed.close()

    asyncio.run(follow())


def test_pruning_deletes_in_batches(
    private_db: tuple[Database, str], tenant: TenantAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each transaction deletes at most PRUNE_BATCH records, so writers
    never wait long behind a prune."""
    db = private_db[0]
    for _ in range(10):
        new_credential(db, tenant.slug, ("read",))  # 2 + 10 = 12 records
    monkeypatch.setattr(changes, "PRUNE_BATCH", 5)
    deletes: list[str] = []

    def executed(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("DELETE FROM changes"):
            deletes.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", executed)
    try:
        deleted = _prune_all(db)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", executed)

    assert deleted == 12
    assert len(deletes) == 3  # 5 + 5 + 2, each in its own transaction
