"""identity_service's Prometheus metrics, scraped over HTTP from the
listener ROSTER_METRICS_LISTEN opens, after real calls (decision 0020)."""

import time
from collections.abc import Iterator

import grpc
import pytest
from identity.v1 import change_service_pb2_grpc, user_pb2, user_service_pb2, user_service_pb2_grpc

from identity_service.store.engine import Database
from tests.changes.support import Log
from tests.conftest import ServerThread
from tests.helpers import TenantAccess, new_credential
from tests.scrape import Samples, sample
from tests.scrape import scrape as scrape_port

GET_USER = "/identity.v1.UserService/GetUser"
CREATE_USER = "/identity.v1.UserService/CreateUser"


@pytest.fixture(scope="module")
def metered(db: Database, database_url: str) -> Iterator[ServerThread]:
    """A server with its metrics listener on 127.0.0.1:0."""
    server = ServerThread(db, database_url, metrics_listen="127.0.0.1:0")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def metered_channel(metered: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{metered.running.port}") as opened:
        yield opened


def scrape(server: ServerThread) -> Samples:
    """Every sample of the server's /metrics."""
    assert server.running.metrics is not None
    return scrape_port(server.running.metrics.port)


def create_user(channel: grpc.Channel, tenant: TenantAccess, user_name: str) -> user_pb2.User:
    users = user_service_pb2_grpc.UserServiceStub(channel)
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=user_pb2.User(user_name=user_name)
    )
    return users.CreateUser(request, metadata=tenant.metadata)


def test_rpcs_are_counted_by_method_status_and_tenant(
    metered: ServerThread, metered_channel: grpc.Channel, tenant: TenantAccess
) -> None:
    """A created user and a missing one: OK and NOT_FOUND, under the tenant's slug."""
    users = user_service_pb2_grpc.UserServiceStub(metered_channel)
    created = create_user(metered_channel, tenant, "alice")
    users.GetUser(user_service_pb2.GetUserRequest(name=created.name), metadata=tenant.metadata)
    missing = f"{tenant.parent}/users/00000000-0000-0000-0000-000000000000"
    with pytest.raises(grpc.RpcError):
        users.GetUser(user_service_pb2.GetUserRequest(name=missing), metadata=tenant.metadata)

    scraped = scrape(metered)

    total = "roster_rpc_requests_total"
    assert sample(scraped, total, method=CREATE_USER, status="OK", tenant=tenant.slug) == 1
    assert sample(scraped, total, method=GET_USER, status="OK", tenant=tenant.slug) == 1
    assert sample(scraped, total, method=GET_USER, status="NOT_FOUND", tenant=tenant.slug) == 1


def test_a_call_without_a_credential_is_counted_without_a_tenant(
    metered: ServerThread, metered_channel: grpc.Channel
) -> None:
    """UNAUTHENTICATED calls are counted under tenant "-"."""
    before = sample(
        scrape(metered),
        "roster_rpc_requests_total",
        method=GET_USER,
        status="UNAUTHENTICATED",
        tenant="-",
    )
    users = user_service_pb2_grpc.UserServiceStub(metered_channel)
    with pytest.raises(grpc.RpcError) as raised:
        users.GetUser(user_service_pb2.GetUserRequest(name="tenants/x/users/y"))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED

    after = sample(
        scrape(metered),
        "roster_rpc_requests_total",
        method=GET_USER,
        status="UNAUTHENTICATED",
        tenant="-",
    )
    assert after == before + 1


def test_the_latency_histogram_counts_every_call_of_a_method(
    metered: ServerThread, metered_channel: grpc.Channel, tenant: TenantAccess
) -> None:
    """roster_rpc_duration_seconds has one observation per CreateUser, in its +Inf bucket too."""
    name = "roster_rpc_duration_seconds"
    before = scrape(metered)
    create_user(metered_channel, tenant, "bob")
    create_user(metered_channel, tenant, "carol")
    after = scrape(metered)

    assert (
        sample(after, f"{name}_count", method=CREATE_USER)
        == sample(before, f"{name}_count", method=CREATE_USER) + 2
    )
    assert sample(after, f"{name}_bucket", method=CREATE_USER, le="+Inf") == sample(
        after, f"{name}_count", method=CREATE_USER
    )
    assert sample(after, f"{name}_sum", method=CREATE_USER) > sample(
        before, f"{name}_sum", method=CREATE_USER
    )


def test_an_open_watch_stream_is_counted_until_it_ends_and_its_deliveries_measured(
    metered: ServerThread,
    metered_channel: grpc.Channel,
    db: Database,
    tenant: TenantAccess,
) -> None:
    """roster_watch_streams is 1 while the tenant's stream is open, 0 after;
    each delivered record adds to roster_change_delivery_lag_seconds."""
    secret = new_credential(db, tenant.slug, ("watch",))
    stub = change_service_pb2_grpc.ChangeServiceStub(metered_channel)
    log = Log(stub, tenant.parent, (("authorization", f"Bearer {secret}"),))
    lag_before = sample(scrape(metered), "roster_change_delivery_lag_seconds_count")
    with log.watch() as stream:
        stream.until_checkpoint()
        open_streams = sample(scrape(metered), "roster_watch_streams", tenant=tenant.slug)
        create_user(metered_channel, tenant, "dave")
        stream.changes(1)
        lag_after = sample(scrape(metered), "roster_change_delivery_lag_seconds_count")
        stream.cancel()
        stream.error()

    assert open_streams == 1
    assert lag_after >= lag_before + 1
    closed = _eventually_zero(metered, tenant.slug)
    assert closed == 0


def _eventually_zero(server: ServerThread, slug: str) -> float:
    """The gauge once the server noticed the cancellation (it may lag the client)."""
    for _ in range(100):
        value = sample(scrape(server), "roster_watch_streams", tenant=slug)
        if value == 0:
            return value
        time.sleep(0.05)
    return value
