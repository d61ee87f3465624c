"""WatchChanges across a restart of the server: a consumer resumes from the
last cursor it received and gets exactly the rest of the log, whether the
server stopped gracefully (last checkpoint, then UNAVAILABLE SHUTTING_DOWN) or
was killed mid-stream while a writer kept writing. Each test has its own
SQLite file and its own servers."""

import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from identity.v1 import (
    change_service_pb2_grpc,
    group_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service.domain.models import Caller, NewUser, Scope
from identity_service.service.users import Users
from identity_service.store import migrate
from identity_service.store.engine import Database
from tests.changes.processes import RPC_SECONDS, Served, Writer, serve_processes
from tests.changes.streams import Response, Stream
from tests.changes.support import Change, Log, kinds
from tests.conftest import ServerThread
from tests.groups.support import Directory
from tests.helpers import Metadata, TenantAccess, error_info, new_credential, new_tenant
from tests.test_cli import cli

# A platform caller writing through the service layer while no server runs.
WRITER = Caller("test-writer", None, None, frozenset({Scope.ADMIN, Scope.WRITE}))
# Reconnect soon after a restart instead of after grpc's default backoff (1s, growing).
FAST_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]


@pytest.fixture
def url(tmp_path: Path) -> str:
    """The SQLite file of this test alone (each test migrates it)."""
    return f"sqlite:///{tmp_path / 'roster.db'}"


def _metadata(secret: str) -> Metadata:
    return (("authorization", f"Bearer {secret}"),)


def _cursor(response: Response) -> str:
    """The position a consumer resumes from after this response."""
    if response.HasField("checkpoint"):
        return response.checkpoint.cursor
    return response.change.cursor


def _changes(responses: list[Response]) -> list[Change]:
    return [r.change for r in responses if r.HasField("change")]


def _contiguous(records: list[Change]) -> bool:
    seqs = [r.seq for r in records]
    return seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True


# Graceful restart: in-process servers (tests/conftest.py ServerThread).


@pytest.fixture
def database(url: str) -> Iterator[Database]:
    """The test's file, opened in-process for setup and direct writes."""
    opened = Database.from_url(url)
    migrate.upgrade(opened.engine)
    yield opened
    opened.dispose()


@pytest.fixture
def servers(database: Database, url: str) -> Iterator[Callable[[], ServerThread]]:
    """Starts servers on the test's file, each on a new port with its own
    engine, as a new process would; all stopped at the end. Checkpoints are
    rare, so a checkpoint after live changes is the shutdown's last one."""
    started: list[tuple[ServerThread, Database]] = []

    def start() -> ServerThread:
        engine = Database.from_url(url)
        server = ServerThread(engine, url, watch_checkpoint_seconds=60, watch_poll_seconds=0.3)
        started.append((server, engine))
        return server

    yield start
    for server, engine in started:
        server.stop()
        engine.dispose()


@dataclass(frozen=True)
class Client:
    """A tenant's writer and watcher over one channel to one server."""

    directory: Directory
    log: Log

    @classmethod
    def of(cls, channel: grpc.Channel, tenant: TenantAccess, watch: Metadata) -> "Client":
        directory = Directory(
            user_service_pb2_grpc.UserServiceStub(channel),
            group_service_pb2_grpc.GroupServiceStub(channel),
            tenant,
        )
        log = Log(change_service_pb2_grpc.ChangeServiceStub(channel), "tenants/-", watch)
        return cls(directory, log)

    def deactivate(self, user: user_pb2.User) -> None:
        request = user_service_pb2.DeactivateUserRequest(name=user.name)
        self.directory.users.DeactivateUser(
            request, metadata=self.directory.metadata, timeout=RPC_SECONDS
        )


def _channel(server: ServerThread) -> grpc.Channel:
    return grpc.insecure_channel(f"127.0.0.1:{server.running.port}")


@pytest.mark.timeout(60)
def test_after_a_graceful_restart_the_last_checkpoint_resumes_exactly_the_rest(
    database: Database, servers: Callable[[], ServerThread]
) -> None:
    """Stop ends the stream with a checkpoint at the log's end and SHUTTING_DOWN;
    a stream opened from it on a new server, after writes made while the first was
    down and on the new one, sends each later record once, in seq order."""
    tenant = new_tenant(database)
    watch = _metadata(new_credential(database, tenant.slug, ("watch",)))
    first = servers()
    with _channel(first) as channel:
        client = Client.of(channel, tenant, watch)
        stream = client.log.watch()
        _, origin = stream.until_checkpoint()
        ann, *_ = [client.directory.user(name) for name in ("ann", "bob", "cy")]
        delivered = stream.changes(3)
        first.stop(grace=10)
        unsent, last = stream.until_checkpoint()
        tail, stopped = stream.until_error()

    Users(database).create(WRITER, tenant.slug, NewUser(user_name="dee"))  # no server runs
    second = servers()
    with _channel(second) as channel:
        client = Client.of(channel, tenant, watch)
        client.directory.user("eve")
        client.deactivate(ann)
        with client.log.watch(start_cursor=last.cursor) as resumed:
            backlog, caught_up = resumed.until_checkpoint()
            client.directory.user("fay")
            live = resumed.changes(1)
            whole = client.log.since(origin.cursor)
            second.stop(grace=10)
            after_live, final = resumed.until_checkpoint()
            tail_resumed, stopped_again = resumed.until_error()

    assert (unsent, tail, tail_resumed) == ([], [], [])
    assert last.cursor == delivered[-1].cursor
    assert stopped.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(stopped).reason == "SHUTTING_DOWN"
    assert error_info(stopped_again).reason == "SHUTTING_DOWN"
    assert kinds(backlog) == ["USER_CREATED", "USER_CREATED", "USER_DEACTIVATED"]
    assert backlog[0].seq == delivered[-1].seq + 1
    assert caught_up.cursor == backlog[-1].cursor
    assert (after_live, final.cursor) == ([], live[0].cursor)
    assert delivered + backlog + live == whole
    assert _contiguous(whole)


# Abrupt restart: `identity-service serve` as a real process, killed with SIGKILL.


@pytest.fixture
def serve(tmp_path: Path, url: str) -> Iterator[Callable[[str], Served]]:
    """Starts `identity-service serve` on the test's file; every process
    still running at the end is killed."""
    with serve_processes(tmp_path, url) as start:
        yield start


def _resume_index(received: list[Response], at_checkpoint: bool) -> int:
    """The response a consumer resumes after: its last one, or its last checkpoint."""
    if not at_checkpoint:
        return len(received) - 1
    return max((i for i, r in enumerate(received) if r.HasField("checkpoint")), default=-1)


def _mid_stream(received: list[Response], at_checkpoint: bool) -> bool:
    """Far enough to kill the server: 10 changes received and, to resume from a
    checkpoint, one after a change with 3 changes after it (to be sent again)."""
    if len(_changes(received)) < 10:
        return False
    index = _resume_index(received, at_checkpoint)
    return not at_checkpoint or (
        index > 0 and len(_changes(received[index:])) >= 3 and bool(_changes(received[:index]))
    )


def _received_until(stream: Stream, enough: Callable[[list[Response]], bool]) -> list[Response]:
    received: list[Response] = []
    while not enough(received):
        received.append(stream.next(timeout=RPC_SECONDS))
    return received


def _until_cursor(stream: Stream, cursor: str) -> list[Change]:
    """The changes up to the first checkpoint at `cursor` (within 30 checkpoints)."""
    found: list[Change] = []
    for _ in range(30):
        changes, checkpoint = stream.until_checkpoint(timeout=RPC_SECONDS)
        found += changes
        if checkpoint.cursor == cursor:
            return found
    raise AssertionError(f"no checkpoint reached the log's end; changes: {len(found)}")


def _user_names(users: user_service_pb2_grpc.UserServiceStub, tenant: TenantAccess) -> set[str]:
    """The resource names of the tenant's users, every page."""
    found: set[str] = set()
    token = ""
    while True:
        request = user_service_pb2.ListUsersRequest(
            parent=tenant.parent, page_size=1000, page_token=token
        )
        page = users.ListUsers(request, metadata=tenant.metadata, timeout=RPC_SECONDS)
        found |= {u.name for u in page.users}
        token = page.next_page_token
        if not token:
            return found


def _tenant_with_watch(url: str) -> tuple[TenantAccess, Metadata]:
    """A fresh tenant and a "watch" credential of it, made on the file in-process."""
    database = Database.from_url(url)
    try:
        tenant = new_tenant(database)
        return tenant, _metadata(new_credential(database, tenant.slug, ("watch",)))
    finally:
        database.dispose()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("at_checkpoint", [False, True], ids=["last-response", "last-checkpoint"])
def test_after_a_kill_mid_stream_resuming_from_a_cursor_received_loses_nothing(
    url: str, serve: Callable[[str], Served], at_checkpoint: bool
) -> None:
    """SIGKILL while a writer writes; restarted on the same file and port. From
    the last cursor received (or the last checkpoint's) the stream sends exactly
    the records after it: nothing lost, resent only what followed that cursor;
    every acknowledged write is there, and the log agrees with the users that exist."""
    assert cli("migrate", url=url).returncode == 0
    tenant, watch = _tenant_with_watch(url)
    served = serve("127.0.0.1:0")

    with (
        grpc.insecure_channel(served.target, options=FAST_RECONNECT) as writer_channel,
        grpc.insecure_channel(served.target, options=FAST_RECONNECT) as watcher_channel,
    ):
        users = user_service_pb2_grpc.UserServiceStub(writer_channel)
        log = Log(change_service_pb2_grpc.ChangeServiceStub(watcher_channel), "tenants/-", watch)
        writer = Writer(users, tenant)
        with log.watch() as stream:
            _, origin = stream.until_checkpoint(timeout=RPC_SECONDS)
            writer.start()
            try:
                before = _received_until(stream, lambda r: _mid_stream(r, at_checkpoint))
                served.process.kill()
                assert served.process.wait(timeout=RPC_SECONDS) == -signal.SIGKILL
                rest, lost = stream.until_error(timeout=RPC_SECONDS)
                before += rest
                index = _resume_index(before, at_checkpoint)

                restarted = serve(served.target)
                grpc.channel_ready_future(watcher_channel).result(timeout=RPC_SECONDS)
                with log.watch(start_cursor=_cursor(before[index])) as resumed:
                    writer.wait_for_more(10, timeout=30)
                    writer.stop()
                    end = log.last_cursor()
                    after = _until_cursor(resumed, end)
            finally:
                writer.stop()
        whole = log.since(origin.cursor)
        suffix = log.since(_cursor(before[index]))
        created = {r.resource for r in log.all() if r.kind == Change.USER_CREATED}
        existing = _user_names(users, tenant)

    received, kept = _changes(before), _changes(before[: index + 1])
    assert restarted.port == served.port
    assert lost.code() == grpc.StatusCode.UNAVAILABLE
    assert received == whole[: len(received)]
    assert after == suffix
    assert kept + after == whole
    assert _contiguous(whole)
    assert {u.name for u in writer.acknowledged} <= created
    assert existing == created
    assert set(writer.failures) <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
