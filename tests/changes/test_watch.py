"""WatchChanges: the backlog after a cursor, then live changes in log order,
each once, with checkpoints; scope, tenant isolation and shutdown."""

import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from identity.v1 import change_service_pb2_grpc, group_service_pb2_grpc, user_service_pb2_grpc

from identity_service.domain.models import Caller, NewUser, Scope, TenantState
from identity_service.service.tenants import OPERATOR, Credentials, Tenants
from identity_service.service.users import Users
from identity_service.store.engine import Database
from tests.changes.conftest import watcher
from tests.changes.streams import Checkpoint, Stream
from tests.changes.support import Change, Log, kinds
from tests.conftest import ServerThread
from tests.groups.support import Directory
from tests.helpers import TenantAccess, error_info


@pytest.fixture
def directory(
    users: user_service_pb2_grpc.UserServiceStub,
    groups: group_service_pb2_grpc.GroupServiceStub,
    tenant: TenantAccess,
) -> Directory:
    return Directory(users, groups, tenant)


def _seqs(records: list[Change]) -> list[int]:
    return [r.seq for r in records]


def test_the_backlog_comes_first_then_live_changes_in_order(log: Log, directory: Directory) -> None:
    """Records after the cursor, a checkpoint, then a change made later within a second."""
    first = log.all()[0]
    with log.watch(start_cursor=first.cursor) as stream:
        backlog, caught_up = stream.until_checkpoint()
        started = time.monotonic()
        directory.user("ann")
        [live] = stream.changes(1, timeout=1.0)

    assert time.monotonic() - started < 1.0
    assert _seqs(backlog) == [2, 3]
    assert caught_up.cursor == backlog[-1].cursor
    assert kinds([live]) == ["USER_CREATED"]
    assert live.seq == 4


def test_an_empty_start_cursor_starts_after_the_last_record(log: Log, directory: Directory) -> None:
    """Without a cursor only changes after the stream opened are sent."""
    with log.watch() as stream:
        backlog, caught_up = stream.until_checkpoint()
        directory.user()
        [live] = stream.changes(1)

    assert backlog == []
    assert caught_up.cursor == log.all()[-2].cursor
    assert live.seq == 4


def test_resuming_from_a_cursor_gives_exactly_the_suffix(log: Log, directory: Directory) -> None:
    """From any record's cursor the stream repeats what ListChanges says follows it."""
    for _ in range(3):
        directory.user()
    records = log.all()

    for record in records:
        with log.watch(start_cursor=record.cursor) as stream:
            suffix, _ = stream.until_checkpoint()
        assert suffix == log.since(record.cursor)


def test_filters_narrow_the_changes_but_checkpoints_pass_the_others(
    log: Log, directory: Directory
) -> None:
    """Only users are sent; checkpoints move past the group record all the same."""
    with log.watch(resource_types=[Change.USER]) as stream:
        stream.until_checkpoint()
        directory.user()
        directory.user()
        directory.group()
        users = stream.changes(2)
        group_cursor = log.last_cursor()
        later = _checkpoints_until(stream, group_cursor)

    assert kinds(users) == ["USER_CREATED", "USER_CREATED"]
    assert later[-1].cursor == group_cursor


def _checkpoints_until(stream: Stream, cursor: str, most: int = 5) -> list[Checkpoint]:
    """Checkpoints up to the first at `cursor` (at most `most`); no change between."""
    found: list[Checkpoint] = []
    while len(found) < most and (not found or found[-1].cursor != cursor):
        changes, checkpoint = stream.until_checkpoint()
        assert changes == []
        found.append(checkpoint)
    return found


def test_filters_by_kind(log: Log, directory: Directory) -> None:
    """kinds narrows the stream like ListChanges."""
    with log.watch(start_cursor=log.all()[0].cursor, kinds=[Change.GROUP_CREATED]) as stream:
        directory.user()
        created = directory.group()
        [record] = stream.changes(1)

    assert record.resource == created.name


def test_an_idle_stream_sends_checkpoints(log: Log) -> None:
    """Idle streams still hear from the server, with the unchanged cursor."""
    with log.watch() as stream:
        checkpoints = [stream.until_checkpoint(timeout=2.0) for _ in range(3)]

    assert [changes for changes, _ in checkpoints] == [[], [], []]
    assert {c.cursor for _, c in checkpoints} == {log.last_cursor()}


def test_a_credential_without_watch_scope_is_refused(log: Log, tenant: TenantAccess) -> None:
    """A "scim" credential may not follow changes."""
    scim = Log(log.stub, tenant.parent, tenant.metadata)

    error = scim.watch().error()

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(error).reason == "MISSING_SCOPE"


def test_another_tenants_log_is_not_found(log: Log, other_tenant: TenantAccess) -> None:
    """Another tenant's stream is indistinguishable from a missing tenant."""
    elsewhere = Log(log.stub, other_tenant.parent, log.metadata)

    assert elsewhere.watch().error().code() == grpc.StatusCode.NOT_FOUND


def test_a_cursor_of_another_tenant_is_refused(
    db: Database, log: Log, other_tenant: TenantAccess
) -> None:
    """Cursors are bound to their tenant's log."""
    foreign = watcher(db, log.stub, other_tenant).last_cursor()

    error = log.watch(start_cursor=foreign).error()

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error).reason == "INVALID_FIELD"


def test_concurrent_writers_lose_and_duplicate_nothing(log: Log, directory: Directory) -> None:
    """With several writers at once the stream equals ListChanges from the same cursor."""
    start = log.last_cursor()
    writers = [
        threading.Thread(target=lambda: [directory.user() for _ in range(10)]) for _ in range(4)
    ]
    with log.watch(start_cursor=start) as stream:
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        streamed = stream.changes(40)
        rest, _ = stream.until_checkpoint()

    assert rest == []
    assert streamed == log.since(start)
    assert _seqs(streamed) == list(range(4, 44))


@pytest.fixture
def own_server(db: Database, database_url: str) -> Iterator[ServerThread]:
    """A server of this test alone, which it may stop."""
    server = ServerThread(db, database_url, watch_checkpoint_seconds=60, watch_poll_seconds=0.3)
    yield server
    server.stop()


def test_shutdown_ends_streams_with_a_checkpoint_then_unavailable(
    db: Database,
    own_server: ServerThread,
    tenant: TenantAccess,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
) -> None:
    """On stop every stream gets a last checkpoint and UNAVAILABLE, and stop does not wait."""
    with grpc.insecure_channel(f"127.0.0.1:{own_server.running.port}") as channel:
        log = watcher(db, change_service_pb2_grpc.ChangeServiceStub(channel), tenant)
        stream = log.watch()
        stream.until_checkpoint()
        started = time.monotonic()
        own_server.stop(grace=10)
        stopped = time.monotonic() - started
        last = stream.next()
        error = stream.error()
        cursor = Log(change_stub, log.parent, log.metadata).last_cursor()

    assert stopped < 2.0
    assert last.checkpoint.cursor == cursor
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(error).reason == "SHUTTING_DOWN"


@pytest.mark.parametrize(
    ("ending", "code"),
    [
        ("revoked", grpc.StatusCode.UNAUTHENTICATED),
        ("suspended", grpc.StatusCode.PERMISSION_DENIED),
    ],
)
def test_a_stream_ends_once_its_credential_no_longer_holds(
    db: Database,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
    ending: str,
    code: grpc.StatusCode,
) -> None:
    """A revoked credential or a suspended tenant ends an open stream at its next checkpoint."""
    credential, secret = Credentials(db).create(OPERATOR, tenant.slug, scopes=("watch",))
    log = Log(change_stub, "tenants/-", (("authorization", f"Bearer {secret}"),))
    with log.watch() as stream:
        stream.until_checkpoint()
        if ending == "revoked":
            Credentials(db).revoke(OPERATOR, tenant.slug, credential.id)
        else:
            Tenants(db).set_state(OPERATOR, tenant.slug, TenantState.SUSPENDED)
        error = stream.error(timeout=3.0)

    assert error.code() == code


def test_a_write_no_wake_up_announces_arrives_by_polling(
    db: Database, own_server: ServerThread, database_url: str, tenant: TenantAccess
) -> None:
    """A commit through another engine (as on another replica) wakes nobody;
    the server polls the watched tenants' logs, so it arrives all the same."""
    writer = Caller("test-writer", None, None, frozenset({Scope.ADMIN, Scope.WRITE}))
    elsewhere = Database.from_url(database_url)
    target = f"127.0.0.1:{own_server.running.port}"
    try:
        with grpc.insecure_channel(target) as channel:
            log = watcher(db, change_service_pb2_grpc.ChangeServiceStub(channel), tenant)
            with log.watch() as stream:
                stream.until_checkpoint()
                Users(elsewhere).create(writer, tenant.slug, NewUser(user_name="remote"))
                [created] = stream.changes(1, timeout=2.0)
    finally:
        elsewhere.dispose()

    assert kinds([created]) == ["USER_CREATED"]
