"""Shared fixtures: one real identity_service on 127.0.0.1:0 over a real,
migrated database for the session (a SQLite file, then a PostgreSQL
database: every test that uses them runs on both), and a fresh tenant for
every test, so tests never clean up after each other."""

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from identity.v1 import (
    change_service_pb2_grpc,
    credential_service_pb2_grpc,
    group_service_pb2_grpc,
    tenant_service_pb2_grpc,
    token_service_pb2_grpc,
    user_service_pb2_grpc,
)

from identity_service import server as server_module
from identity_service.settings import Settings
from identity_service.store import migrate
from identity_service.store.engine import Database
from tests.helpers import Stubs, TenantAccess, new_credential, new_tenant
from tests.postgres import Postgres

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in a daemon thread, so tests can start
    servers on it and call them with ordinary blocking stubs and real threads."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop the loop and close it (a loop left open leaks its sockets
        until a garbage collection, which fails whatever test is running)."""
        if not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


class ServerThread:
    """identity_service on an asyncio event loop in a background thread.
    (The server processes of tests/processes.py run on uvloop, as served.)"""

    def __init__(self, db: Database, database_url: str, **settings: Any) -> None:
        self.loop = LoopThread()
        # Change streams checkpoint often, so tests see idle streams' checkpoints.
        # No rate limits unless a test sets them (tests/test_rate_limit.py):
        # property tests and fuzzers call one tenant faster than an IdP would.
        settings = {
            "watch_checkpoint_seconds": 0.5,
            "listen": "127.0.0.1:0",
            "rate_limit_tenant_per_second": 0,
            "rate_limit_credential_per_second": 0,
            **settings,
        }
        configured = Settings(database_url=database_url, **settings)
        self.running = self.loop.run(server_module.start(configured, db))

    def stop(self, grace: float = 0) -> None:
        """Stop the server and its loop; once stopped, do nothing."""
        if not self.loop.alive:
            return
        self.loop.run(server_module.stop(self.running, grace))
        self.loop.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL 15 server for the session, started when first needed."""
    with Postgres() as server:
        yield server


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every test that uses the database runs on both engines: a SQLite file,
    and a database on a real PostgreSQL server."""
    if request.param == "postgresql":
        server: Postgres = request.getfixturevalue("postgres")
        return server.database()
    path: Path = tmp_path_factory.mktemp("db") / "roster.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def target(db: Database, database_url: str) -> Iterator[str]:
    """host:port of the running identity_service."""
    server = ServerThread(db, database_url)
    yield f"127.0.0.1:{server.running.port}"
    server.stop()


@pytest.fixture(scope="session")
def channel(target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(target) as opened:
        yield opened


@pytest.fixture
def tenant(db: Database) -> TenantAccess:
    """A fresh tenant with a "scim" (read and write) credential."""
    return new_tenant(db)


@pytest.fixture
def other_tenant(db: Database) -> TenantAccess:
    return new_tenant(db)


@pytest.fixture
def platform_admin(db: Database) -> tuple[tuple[str, str], ...]:
    """Call metadata of a platform credential with the admin scope."""
    secret = new_credential(db, None, ("admin", "read", "write"))
    return (("authorization", f"Bearer {secret}"),)


@pytest.fixture(scope="session")
def users(channel: grpc.Channel) -> user_service_pb2_grpc.UserServiceStub:
    return user_service_pb2_grpc.UserServiceStub(channel)


@pytest.fixture(scope="session")
def groups(channel: grpc.Channel) -> group_service_pb2_grpc.GroupServiceStub:
    return group_service_pb2_grpc.GroupServiceStub(channel)


@pytest.fixture(scope="session")
def tenants(channel: grpc.Channel) -> tenant_service_pb2_grpc.TenantServiceStub:
    return tenant_service_pb2_grpc.TenantServiceStub(channel)


@pytest.fixture(scope="session")
def credentials(channel: grpc.Channel) -> credential_service_pb2_grpc.CredentialServiceStub:
    return credential_service_pb2_grpc.CredentialServiceStub(channel)


@pytest.fixture
def stubs(
    users: user_service_pb2_grpc.UserServiceStub,
    groups: group_service_pb2_grpc.GroupServiceStub,
    tenants: tenant_service_pb2_grpc.TenantServiceStub,
    credentials: credential_service_pb2_grpc.CredentialServiceStub,
    channel: grpc.Channel,
) -> Stubs:
    return Stubs(
        users, groups, tenants, credentials, token_service_pb2_grpc.TokenServiceStub(channel)
    )


@pytest.fixture(scope="session")
def change_stub(channel: grpc.Channel) -> change_service_pb2_grpc.ChangeServiceStub:
    return change_service_pb2_grpc.ChangeServiceStub(channel)
