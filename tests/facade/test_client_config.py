"""How the facade's channel spreads calls over identity_service replicas:
two real replicas, told apart by their databases. Replica A (a SQLite file)
knows the tenant and answers OK; replica B (a PostgreSQL database without
the tenant) answers UNAUTHENTICATED. The target names both addresses, as a
DNS name of a headless Service would."""

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import psycopg
import pytest
from identity.v1 import user_service_pb2
from psycopg import sql

from identity_service.store import migrate
from identity_service.store.engine import Database
from scim_facade.client import IdentityClient, metadata
from scim_facade.settings import Settings
from tests.conftest import ServerThread
from tests.helpers import TenantAccess, new_tenant
from tests.postgres import Postgres

# Replicas check their database often, so B's readiness follows it at once.
FAST_CHECKS = {"health_check_seconds": 0.05, "health_check_timeout_seconds": 10}
OK, UNAUTHENTICATED = grpc.StatusCode.OK, grpc.StatusCode.UNAUTHENTICATED


@dataclass(frozen=True)
class Replicas:
    target: str
    tenant: TenantAccess
    postgres: Postgres
    b_database: str


def _migrated(url: str) -> Database:
    database = Database.from_url(url)
    migrate.upgrade(database.engine)
    return database


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres) -> Iterator[Replicas]:
    a_url = f"sqlite:///{tmp_path_factory.mktemp('replica-a') / 'roster.db'}"
    b_url = postgres.database()
    a_db, b_db = _migrated(a_url), _migrated(b_url)
    a, b = ServerThread(a_db, a_url, **FAST_CHECKS), ServerThread(b_db, b_url, **FAST_CHECKS)
    target = f"ipv4:127.0.0.1:{a.running.port},127.0.0.1:{b.running.port}"
    yield Replicas(target, new_tenant(a_db), postgres, b_url.rpartition("/")[2])
    for replica in (a, b):
        replica.stop()
    for database in (a_db, b_db):
        database.dispose()


def _list_users(replicas: Replicas, policy: str, calls: int) -> list[grpc.StatusCode]:
    """The outcome of each of `calls` ListUsers calls through the facade's client."""
    settings = Settings(identity_target=replicas.target, identity_load_balancing=policy)

    async def scenario() -> list[grpc.StatusCode]:
        client = IdentityClient(settings)
        request = user_service_pb2.ListUsersRequest(parent="tenants/-")
        outcomes = []
        try:
            for _ in range(calls):
                try:
                    await client.users.ListUsers(
                        request, metadata=metadata(replicas.tenant.secret), timeout=10
                    )
                    outcomes.append(OK)
                except grpc.aio.AioRpcError as error:
                    outcomes.append(error.code())
        finally:
            await client.close()
        return outcomes

    return asyncio.run(scenario())


def test_round_robin_sends_calls_to_every_replica(replicas: Replicas) -> None:
    """The default policy, round_robin, alternates over the replicas (once
    both are connected): both answers show up."""
    assert set(_list_users(replicas, "round_robin", 20)) == {OK, UNAUTHENTICATED}


def test_pick_first_sends_every_call_to_one_replica(replicas: Replicas) -> None:
    """pick_first (for a target that is one proxy) keeps to one connection."""
    assert len(set(_list_users(replicas, "pick_first", 20))) == 1


def _set_connections(replicas: Replicas, allowed: bool) -> None:
    admin = f"postgresql://roster@127.0.0.1:{replicas.postgres.port}/postgres"
    name = sql.Identifier(replicas.b_database)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                name, sql.SQL("true" if allowed else "false")
            )
        )
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (replicas.b_database,),
            )


def test_round_robin_skips_a_replica_that_is_not_ready(replicas: Replicas) -> None:
    """When B's database becomes unreachable B reports NOT_SERVING, and the
    channel's health checks take it out of the rotation: every call goes to
    A, none fails. Without health checks B would keep getting every other
    call."""
    _set_connections(replicas, allowed=False)
    try:
        deadline = time.monotonic() + 30
        while (outcomes := _list_users(replicas, "round_robin", 20)) != [OK] * 20:
            assert time.monotonic() < deadline, outcomes
    finally:
        _set_connections(replicas, allowed=True)
