"""The grpc.aio server: health checking, reflection and graceful shutdown, over
real sockets on 127.0.0.1 and a real, migrated SQLite file; readiness that
follows a real PostgreSQL database; connection age and keepalive options."""

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import grpc
import pytest
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from identity.v1 import (
    change_service_pb2,
    change_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service import server
from identity_service.settings import Settings
from identity_service.store import migrate
from identity_service.store.engine import Database
from tests.conftest import ServerThread
from tests.helpers import error_info, new_credential, new_tenant
from tests.postgres import Postgres, Reachability
from tests.processes import environment, free_port, wait_until_serving

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
IDENTITY_SERVICES = [
    "identity.v1.UserService",
    "identity.v1.GroupService",
    "identity.v1.TenantService",
    "identity.v1.CredentialService",
    "identity.v1.ChangeService",
    "identity.v1.TokenService",
]


@pytest.fixture(scope="module")
def server_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file shared by this module's servers."""
    url = f"sqlite:///{tmp_path_factory.mktemp('server') / 'roster.db'}"
    database = Database.from_url(url)
    migrate.upgrade(database.engine)
    database.dispose()
    return url


@pytest.fixture
def server_db(server_database_url: str) -> Iterator[Database]:
    database = Database.from_url(server_database_url)
    yield database
    database.dispose()


@asynccontextmanager
async def serving(db: Database, **settings: object) -> AsyncIterator[server.Running]:
    running = await server.start(Settings.model_validate({"listen": "127.0.0.1:0", **settings}), db)
    try:
        yield running
    finally:
        await server.stop(running, 0)


async def check(channel: grpc.aio.Channel, service: str) -> int:
    request = health_pb2.HealthCheckRequest(service=service)
    response = await health_pb2_grpc.HealthStub(channel).Check(request, timeout=10)
    status: int = response.status
    return status


@pytest.mark.parametrize("service", ["", *IDENTITY_SERVICES, "grpc.health.v1.Health"])
def test_health_reports_serving_without_a_credential(server_db: Database, service: str) -> None:
    """grpc.health.v1: the whole server ("") and each service are SERVING, and
    health checks need no bearer token."""

    async def scenario() -> int:
        async with (
            serving(server_db) as running,
            grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel,
        ):
            return await check(channel, service)

    assert asyncio.run(scenario()) == SERVING


def _reflected_services(db: Database, metadata: tuple[tuple[str, str], ...]) -> set[str]:
    async def scenario() -> set[str]:
        async with (
            serving(db) as running,
            grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel,
        ):
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            names: set[str] = set()
            async for response in stub.ServerReflectionInfo(iter([request]), metadata=metadata):
                names |= {s.name for s in response.list_services_response.service}
            return names

    return asyncio.run(scenario())


def test_reflection_lists_the_identity_health_and_reflection_services(
    server_db: Database,
) -> None:
    """Server reflection names every service to any credential, so grpcurl
    works without protos."""
    secret = new_credential(server_db, None, ("read",))
    assert _reflected_services(server_db, (("authorization", f"Bearer {secret}"),)) == {
        *IDENTITY_SERVICES,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


def test_reflection_needs_a_credential(server_db: Database) -> None:
    """Every RPC but health needs a bearer token, reflection included."""
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        _reflected_services(server_db, ())
    assert failed.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_identity_calls_need_a_credential(server_db: Database) -> None:
    """The auth interceptor is installed: a call without a bearer token is
    UNAUTHENTICATED."""

    async def scenario() -> grpc.StatusCode:
        async with (
            serving(server_db) as running,
            grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel,
        ):
            stub = user_service_pb2_grpc.UserServiceStub(channel)
            request = user_service_pb2.ListUsersRequest(parent="tenants/-")
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await stub.ListUsers(request, timeout=10)
            return failed.value.code()

    assert asyncio.run(scenario()) == grpc.StatusCode.UNAUTHENTICATED


def test_stop_reports_not_serving_then_drains_calls_in_flight(server_db: Database) -> None:
    """stop() first flips health to NOT_SERVING, which a call in flight (a
    Watch stream) still receives during the grace period; new calls are refused."""

    async def scenario() -> tuple[list[int], grpc.StatusCode]:
        running = await server.start(Settings(listen="127.0.0.1:0"), server_db)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
            seen = [(await watch.read()).status]
            stopping = asyncio.create_task(server.stop(running, 1.0))
            seen.append((await watch.read()).status)
            # Until the server stops accepting, a check still answers NOT_SERVING.
            while True:
                try:
                    seen.append(await check(channel, ""))
                except grpc.aio.AioRpcError as error:
                    refused = error.code()
                    break
            await stopping
        return sorted(set(seen), key=seen.index), refused

    seen, refused = asyncio.run(scenario())
    assert seen == [SERVING, NOT_SERVING]
    # Refused; a check that raced the listener's closing may end CANCELLED.
    assert refused in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


def test_the_bound_port_is_reported_when_port_zero_is_asked(server_db: Database) -> None:
    """With port 0 the system picks a free port; Running.port is the real one."""

    async def scenario() -> int:
        async with serving(server_db) as running:
            with socket.create_connection(("127.0.0.1", running.port), timeout=5):
                return running.port

    assert asyncio.run(scenario()) > 0


def test_a_port_another_server_holds_is_a_listen_error(server_db: Database) -> None:
    """A second server on a busy port fails with ListenError instead of sharing
    the port (grpc would otherwise set SO_REUSEPORT)."""

    async def scenario() -> None:
        async with (
            serving(server_db) as first,
            serving(server_db, listen=f"127.0.0.1:{first.port}"),
        ):
            pass

    with pytest.raises(server.ListenError, match=r"cannot listen on 127\.0\.0\.1:"):
        asyncio.run(scenario())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_gracefully_and_exits_zero_on_a_signal(
    server_database_url: str, signum: signal.Signals
) -> None:
    """`identity-service serve` logs where it listens, and on SIGTERM (or
    Ctrl-C) drains and exits 0 within the grace period."""
    port, grace = free_port(), 5.0
    command = [
        sys.executable, "-m", "identity_service", "serve", "--listen", f"127.0.0.1:{port}",
        "--database-url", server_database_url, "--shutdown-grace-seconds", str(grace),
    ]  # fmt: skip
    with subprocess.Popen(command, env=environment(), stderr=subprocess.PIPE, text=True) as process:
        wait_until_serving(f"127.0.0.1:{port}")
        signalled = time.monotonic()
        process.send_signal(signum)
        _, log = process.communicate(timeout=grace + 10)
    assert process.returncode == 0, log
    assert time.monotonic() - signalled < grace
    assert f"identity_service listening on 127.0.0.1:{port}" in log
    assert f"received {signum.name}" in log


@pytest.fixture
def pg_url(postgres: Postgres) -> str:
    """A database of its own on the session's PostgreSQL. Readiness runs only
    SELECT 1, so it is left unmigrated."""
    return postgres.database()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    database = Database.from_url(pg_url)
    yield database
    database.dispose()


# Readiness checks in these tests: often, and with room for a slow machine.
FAST_CHECKS = {"health_check_seconds": 0.05, "health_check_timeout_seconds": 10}


Stream: TypeAlias = "grpc.aio.UnaryStreamCall[Any, Any]"


async def _next_status(watch: Stream) -> int:
    response = await asyncio.wait_for(watch.read(), timeout=30)
    assert isinstance(response, health_pb2.HealthCheckResponse), response
    status: int = response.status
    return status


async def _until_it_ends(stream: Stream) -> tuple[list[Any], grpc.StatusCode]:
    """The rest of a stream's responses, and the code it ended with."""
    rest: list[Any] = []
    try:
        # read() answers grpc.aio.EOF, not a message, after the last one.
        while isinstance(response := await stream.read(), Message):
            rest.append(response)
    except grpc.aio.AioRpcError as error:
        return rest, error.code()
    return rest, grpc.StatusCode.OK


def test_readiness_follows_the_database_and_liveness_stays_serving(
    postgres: Postgres, pg_url: str, pg_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """While the database refuses connections, "" and every service report
    NOT_SERVING (readiness) but "liveness" stays SERVING; once it accepts
    them again, SERVING. Each transition is logged once, not every check."""
    caplog.set_level(logging.INFO, logger=server.__name__)
    database = Reachability(postgres, pg_url)

    async def scenario() -> tuple[list[int], dict[str, int]]:
        async with (
            serving(pg_db, database_url=pg_url, **FAST_CHECKS) as running,
            grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel,
        ):
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service="")
            )
            seen = [await _next_status(watch)]
            await asyncio.to_thread(database.cut)
            seen.append(await _next_status(watch))
            names = ["", *IDENTITY_SERVICES, server.LIVENESS]
            down = {name: await check(channel, name) for name in names}
            # Not a synchronisation: time for about twenty more failing
            # checks, which must neither flap (the watch would see it) nor log.
            await asyncio.sleep(1.0)
            await asyncio.to_thread(database.restore)
            seen.append(await _next_status(watch))
            return seen, down

    try:
        seen, down = asyncio.run(scenario())
    finally:
        database.restore()
    assert seen == [SERVING, NOT_SERVING, SERVING]
    assert down == {
        "": NOT_SERVING,
        **dict.fromkeys(IDENTITY_SERVICES, NOT_SERVING),
        server.LIVENESS: SERVING,
    }
    messages = [r.getMessage() for r in caplog.records if r.name == server.__name__]
    assert [m.split(" (")[0] for m in messages if "database" in m] == [
        "the database does not answer",
        "the database answers again: reporting SERVING",
    ]


def test_a_database_back_during_the_drain_does_not_make_the_server_serving_again(
    postgres: Postgres, pg_url: str, pg_db: Database
) -> None:
    """Once stop() began, health stays NOT_SERVING to the end, even when the
    database answers again while calls in flight drain."""
    database = Reachability(postgres, pg_url)

    async def scenario() -> list[int]:
        settings = Settings.model_validate(
            {"listen": "127.0.0.1:0", "database_url": pg_url, **FAST_CHECKS}
        )
        running = await server.start(settings, pg_db)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service="")
            )
            seen = [await _next_status(watch)]
            await asyncio.to_thread(database.cut)
            seen.append(await _next_status(watch))
            # The health watch is a call in flight: the drain lasts the whole second.
            stopping = asyncio.create_task(server.stop(running, 1.0))
            await asyncio.to_thread(database.restore)
            rest, _ = await asyncio.wait_for(_until_it_ends(watch), timeout=30)
            seen += [response.status for response in rest]
            await stopping
        return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        database.restore()
    assert seen == [SERVING, NOT_SERVING]


def test_the_max_connection_age_ends_long_streams_and_the_channel_reconnects(
    server_db: Database,
) -> None:
    """Connections are closed at about max_connection_age plus its grace: an
    open WatchChanges stream ends with UNAVAILABLE (its consumer resumes
    from its last checkpoint, on any replica), the next call on the same
    channel connects again, and without a max age the stream stays open."""
    tenant = new_tenant(server_db, ("watch",))
    request = change_service_pb2.WatchChangesRequest(parent=tenant.parent)
    age, grace = 1.0, 0.5

    async def open_stream(channel: grpc.aio.Channel) -> Stream:
        stream = change_service_pb2_grpc.ChangeServiceStub(channel).WatchChanges(
            request, metadata=tenant.metadata
        )
        first = await asyncio.wait_for(stream.read(), timeout=30)
        assert isinstance(first, change_service_pb2.WatchChangesResponse), first
        assert first.HasField("checkpoint")
        return stream

    async def scenario() -> tuple[grpc.StatusCode, float, bool]:
        async with (
            serving(
                server_db, max_connection_age_seconds=age, max_connection_age_grace_seconds=grace
            ) as aged,
            serving(server_db, max_connection_age_seconds=0) as ageless,
            grpc.aio.insecure_channel(f"127.0.0.1:{aged.port}") as channel,
            grpc.aio.insecure_channel(f"127.0.0.1:{ageless.port}") as other,
        ):
            connected = time.monotonic()
            stream = await open_stream(channel)
            survivor = asyncio.create_task(_until_it_ends(await open_stream(other)))
            _, code = await asyncio.wait_for(_until_it_ends(stream), timeout=30)
            lasted = time.monotonic() - connected
            await open_stream(channel)
            still_open = not survivor.done()
            survivor.cancel()
        return code, lasted, still_open

    code, lasted, still_open = asyncio.run(scenario())
    assert code == grpc.StatusCode.UNAVAILABLE
    # grpc jitters the age by up to 10% either way.
    assert 0.9 * age <= lasted < 1.1 * age + grace + 5
    assert still_open


def test_server_options_carry_the_connection_age_and_keepalive_settings() -> None:
    """Settings become the server's channel arguments, in milliseconds; a max
    connection age of 0 sets none (connections live until closed)."""
    settings = Settings(
        max_connection_age_seconds=600,
        max_connection_age_grace_seconds=7.5,
        keepalive_seconds=45,
        max_receive_message_bytes=1 << 20,
    )
    options = dict(server.server_options(settings))
    assert options == {
        "grpc.max_receive_message_length": 1 << 20,
        "grpc.so_reuseport": 0,
        "grpc.keepalive_time_ms": 45_000,
        "grpc.keepalive_timeout_ms": 20_000,
        "grpc.keepalive_permit_without_calls": 1,
        "grpc.http2.max_pings_without_data": 0,
        "grpc.http2.min_ping_interval_without_data_ms": 10_000,
        "grpc.max_connection_age_ms": 600_000,
        "grpc.max_connection_age_grace_ms": 7_500,
    }
    unlimited = dict(server.server_options(Settings(max_connection_age_seconds=0)))
    assert "grpc.max_connection_age_ms" not in unlimited
    assert "grpc.max_connection_age_grace_ms" not in unlimited


def test_calls_answer_unavailable_while_the_database_is_unreachable(
    postgres: Postgres, pg_url: str, pg_db: Database
) -> None:
    """UNAVAILABLE with reason STORAGE_UNAVAILABLE, so clients retry (the
    facade answers 503 with Retry-After), never INTERNAL; once the database
    is back the same server answers again."""
    migrate.upgrade(pg_db.engine)
    tenant = new_tenant(pg_db)
    database = Reachability(postgres, pg_url)
    running = ServerThread(pg_db, pg_url)
    request = user_service_pb2.ListUsersRequest(parent=tenant.parent)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.running.port}") as channel:
            stub = user_service_pb2_grpc.UserServiceStub(channel)
            stub.ListUsers(request, metadata=tenant.metadata, timeout=10)
            database.cut()
            with pytest.raises(grpc.RpcError) as down:
                stub.ListUsers(request, metadata=tenant.metadata, timeout=10)
            database.restore()
            again = stub.ListUsers(request, metadata=tenant.metadata, timeout=10)
    finally:
        database.restore()
        running.stop()

    assert down.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(down.value).reason == "STORAGE_UNAVAILABLE"
    assert list(again.users) == []


def test_readiness_stays_serving_while_every_worker_thread_is_busy(server_db: Database) -> None:
    """Long reads can occupy every shared worker thread; the readiness query
    has a thread of its own, so a busy server does not report itself down."""

    async def scenario() -> list[int]:
        checks = {"health_check_seconds": 0.05, "health_check_timeout_seconds": 0.3}
        async with (
            serving(server_db, **checks) as running,
            grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel,
        ):
            loop = asyncio.get_running_loop()
            busy = [loop.run_in_executor(None, time.sleep, 1.2) for _ in range(16)]
            statuses = [await check(channel, "")]
            deadline = loop.time() + 1.0
            while loop.time() < deadline:  # about twenty readiness checks
                statuses.append(await check(channel, ""))
                await asyncio.sleep(0.05)
            await asyncio.gather(*busy)
            return statuses

    assert set(asyncio.run(scenario())) == {SERVING}
