"""Rate limits per tenant and per credential (decision 0018): real servers
with small rates on SQLite and PostgreSQL, and the buckets with an injected
clock. Waits are the server's own RetryInfo; nothing asserts elapsed time."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from identity.v1 import (
    change_service_pb2,
    change_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service.store.engine import Database
from tests.changes.streams import Stream
from tests.conftest import ServerThread
from tests.helpers import (
    Metadata,
    TenantAccess,
    error_info,
    new_credential,
    new_tenant,
    retry_delay,
)

# Small enough to exhaust in a test, fast enough that the wait is short.
BURST = 3
PER_SECOND = 4.0
SERVERS: dict[str, dict[str, Any]] = {
    "tenant": {"rate_limit_tenant_per_second": PER_SECOND, "rate_limit_tenant_burst": BURST},
    "credential": {
        "rate_limit_credential_per_second": PER_SECOND,
        "rate_limit_credential_burst": BURST,
    },
    # Refills so slowly that nothing a test does refills a token.
    "slow": {"rate_limit_credential_per_second": 0.01, "rate_limit_credential_burst": 2},
    "off": {
        "rate_limit_tenant_per_second": 0,
        "rate_limit_tenant_burst": 1,
        "rate_limit_credential_per_second": 0,
        "rate_limit_credential_burst": 1,
    },
}


@pytest.fixture(scope="module")
def channels(db: Database, database_url: str) -> Iterator[dict[str, grpc.Channel]]:
    """A channel to a server of each configuration in SERVERS (the limits
    it does not name are off, as in every ServerThread)."""
    servers = {name: ServerThread(db, database_url, **s) for name, s in SERVERS.items()}
    opened = {
        name: grpc.insecure_channel(f"127.0.0.1:{server.running.port}")
        for name, server in servers.items()
    }
    yield opened
    for name, server in servers.items():
        opened[name].close()
        server.stop()


def _users(channels: dict[str, grpc.Channel], server: str) -> user_service_pb2_grpc.UserServiceStub:
    return user_service_pb2_grpc.UserServiceStub(channels[server])


def _list(users: user_service_pb2_grpc.UserServiceStub, tenant: TenantAccess, md: Metadata) -> Any:
    return users.ListUsers(user_service_pb2.ListUsersRequest(parent=tenant.parent), metadata=md)


def _refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def _exhaust(users: user_service_pb2_grpc.UserServiceStub, tenant: TenantAccess) -> grpc.RpcError:
    """Spend the burst, then return the refusal of the call after it."""
    for _ in range(BURST):
        _list(users, tenant, tenant.metadata)
    return _refused(lambda: _list(users, tenant, tenant.metadata))


@pytest.mark.parametrize("limited", ["tenant", "credential"])
def test_a_call_past_the_burst_is_resource_exhausted_with_retry_info(
    channels: dict[str, grpc.Channel], tenant: TenantAccess, limited: str
) -> None:
    """Over a limit: RESOURCE_EXHAUSTED, ErrorInfo RATE_LIMITED naming the
    bucket, and RetryInfo with the wait for one token (AIP-193)."""
    error = _exhaust(_users(channels, limited), tenant)

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    info = error_info(error)
    assert (info.reason, info.domain) == ("RATE_LIMITED", "roster.identity.v1")
    assert info.metadata["bucket"] == limited
    assert 0 < retry_delay(error) <= 1 / PER_SECOND + 0.001


@pytest.mark.parametrize("limited", ["tenant", "credential"])
def test_waiting_the_retry_delay_lets_the_next_call_through(
    channels: dict[str, grpc.Channel], tenant: TenantAccess, limited: str
) -> None:
    """The wait in RetryInfo is enough: the call after it is served."""
    users = _users(channels, limited)
    time.sleep(retry_delay(_exhaust(users, tenant)))

    assert _list(users, tenant, tenant.metadata).users == []


@pytest.mark.parametrize("limited", ["tenant", "credential"])
def test_another_tenant_is_not_limited(
    channels: dict[str, grpc.Channel], db: Database, tenant: TenantAccess, limited: str
) -> None:
    """One tenant over its limit leaves every other tenant's calls alone."""
    users = _users(channels, limited)
    _exhaust(users, tenant)
    other = new_tenant(db)

    assert _list(users, other, other.metadata).users == []


def test_another_credential_of_the_tenant_is_not_limited_by_the_credential_limit(
    channels: dict[str, grpc.Channel], db: Database, tenant: TenantAccess
) -> None:
    """The credential limit is per credential: the tenant's other
    credentials keep their own."""
    users = _users(channels, "credential")
    _exhaust(users, tenant)
    second = new_credential(db, tenant.slug, ("read",))

    assert _list(users, tenant, (("authorization", f"Bearer {second}"),)).users == []


def test_the_credentials_of_a_tenant_share_its_limit(
    channels: dict[str, grpc.Channel], db: Database, tenant: TenantAccess
) -> None:
    """The tenant limit counts the calls of all its credentials together."""
    users = _users(channels, "tenant")
    _exhaust(users, tenant)
    second = new_credential(db, tenant.slug, ("read",))

    error = _refused(lambda: _list(users, tenant, (("authorization", f"Bearer {second}"),)))

    assert error_info(error).metadata["bucket"] == "tenant"


def _create(users: user_service_pb2_grpc.UserServiceStub, tenant: TenantAccess, name: str) -> Any:
    user = user_pb2.User(user_name=name)
    request = user_service_pb2.CreateUserRequest(parent=tenant.parent, user=user, request_id=name)
    return users.CreateUser(request, metadata=tenant.metadata)


@pytest.mark.parametrize("limited", ["tenant", "credential"])
def test_a_refused_create_creates_nothing(
    channels: dict[str, grpc.Channel], tenant: TenantAccess, limited: str
) -> None:
    """A refused call does nothing: the user is not created, and its
    request_id stays free, so the same request succeeds once retried."""
    users = _users(channels, limited)
    for index in range(BURST):
        _create(users, tenant, f"user-{index}")
    error = _refused(lambda: _create(users, tenant, "refused"))
    time.sleep(retry_delay(error))

    listed = _list(users, tenant, tenant.metadata).users
    assert sorted(u.user_name for u in listed) == [f"user-{i}" for i in range(BURST)]
    time.sleep(1 / PER_SECOND)
    assert _create(users, tenant, "refused").user_name == "refused"


def test_a_watch_stream_counts_once_however_many_messages_it_carries(
    channels: dict[str, grpc.Channel], db: Database, tenant: TenantAccess
) -> None:
    """A WatchChanges stream takes one token when it opens; its checkpoints
    take none (burst 2: the stream, then one call, then refusals, of a new
    stream too)."""
    secret = new_credential(db, tenant.slug, ("read", "watch"))
    md = (("authorization", f"Bearer {secret}"),)
    stub = change_service_pb2_grpc.ChangeServiceStub(channels["slow"])
    request = change_service_pb2.WatchChangesRequest(parent=tenant.parent)
    with Stream(stub, request, md) as stream:
        checkpoints = [stream.until_checkpoint()[1] for _ in range(3)]
        users = _users(channels, "slow")
        _list(users, tenant, md)
        error = _refused(lambda: _list(users, tenant, md))
    refused_stream = _refused(lambda: list(stub.WatchChanges(request, metadata=md, timeout=5)))

    assert len(checkpoints) == 3
    assert error_info(error).reason == "RATE_LIMITED"
    assert error_info(refused_stream).reason == "RATE_LIMITED"


def test_health_and_reflection_are_not_limited(
    channels: dict[str, grpc.Channel], tenant: TenantAccess
) -> None:
    """A caller over its limit still gets health checks and reflection."""
    users = _users(channels, "slow")
    _list(users, tenant, tenant.metadata)
    _list(users, tenant, tenant.metadata)
    assert error_info(_refused(lambda: _list(users, tenant, tenant.metadata))).reason == (
        "RATE_LIMITED"
    )

    health = health_pb2_grpc.HealthStub(channels["slow"])
    checked = health.Check(health_pb2.HealthCheckRequest(), metadata=tenant.metadata)
    reflection = reflection_pb2_grpc.ServerReflectionStub(channels["slow"])
    asked = reflection_pb2.ServerReflectionRequest(list_services="")
    answers = list(reflection.ServerReflectionInfo(iter([asked]), metadata=tenant.metadata))

    assert checked.status == health_pb2.HealthCheckResponse.SERVING
    assert "identity.v1.UserService" in {s.name for s in answers[0].list_services_response.service}


def test_a_rate_of_zero_turns_the_limit_off(
    channels: dict[str, grpc.Channel], tenant: TenantAccess
) -> None:
    """A rate of 0 turns its limit off: bursts of 1 no longer apply."""
    users = _users(channels, "off")

    answers = [_list(users, tenant, tenant.metadata) for _ in range(10)]

    assert [a.users for a in answers] == [[]] * 10
