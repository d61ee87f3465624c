"""The grpc.aio server: health checking, reflection and graceful shutdown, over
real sockets on 127.0.0.1 and a real, migrated SQLite file."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from identity.v1 import user_service_pb2, user_service_pb2_grpc

from identity_service import server
from identity_service.settings import Settings
from identity_service.store import migrate
from identity_service.store.engine import Database
from tests.helpers import new_credential

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
IDENTITY_SERVICES = [
    "identity.v1.UserService",
    "identity.v1.GroupService",
    "identity.v1.TenantService",
    "identity.v1.CredentialService",
    "identity.v1.ChangeService",
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
    assert refused == grpc.StatusCode.UNAVAILABLE


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _wait_until_serving(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        request = health_pb2.HealthCheckRequest(service="")
        health_pb2_grpc.HealthStub(channel).Check(request, timeout=30, wait_for_ready=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_gracefully_and_exits_zero_on_a_signal(
    server_database_url: str, signum: signal.Signals
) -> None:
    """`identity-service serve` logs where it listens, and on SIGTERM (or
    Ctrl-C) drains and exits 0 within the grace period."""
    port, grace = _free_port(), 5.0
    command = [
        sys.executable, "-m", "identity_service", "serve", "--listen", f"127.0.0.1:{port}",
        "--database-url", server_database_url, "--shutdown-grace-seconds", str(grace),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_")}
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        _wait_until_serving(f"127.0.0.1:{port}")
        signalled = time.monotonic()
        process.send_signal(signum)
        _, log = process.communicate(timeout=grace + 10)
    assert process.returncode == 0, log
    assert time.monotonic() - signalled < grace
    assert f"identity_service listening on 127.0.0.1:{port}" in log
    assert f"received {signum.name}" in log
