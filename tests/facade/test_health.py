"""The facade's probes: /healthz/live answers while the process does;
/healthz/ready follows identity_service's grpc.health.v1 (503 while it is
stopped or NOT_SERVING, 200 again once it serves)."""

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from grpc_health.v1 import health, health_pb2

from identity_service.store.engine import Database
from scim_facade.app import create_app
from scim_facade.settings import Settings
from tests.conftest import ServerThread

NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def own_server(db: Database, database_url: str) -> Iterator[ServerThread]:
    """An identity_service of this test's own, stopped by it or at the end."""
    server = ServerThread(db, database_url)
    yield server
    server.stop()


def facade_of(server: ServerThread) -> TestClient:
    settings = Settings(identity_target=f"127.0.0.1:{server.running.port}")
    return TestClient(create_app(settings), base_url="http://scim.test")


def ready_status(facade: TestClient, wanted: int) -> int:
    """/healthz/ready's status once it is `wanted`, or the last one after 30 s
    (the channel reconnects with backoff)."""
    deadline = time.monotonic() + 30
    while True:
        status = facade.get("/healthz/ready").status_code
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_live_answers_200_without_a_token(facade: TestClient) -> None:
    """Liveness needs nothing but the process."""
    response = facade.get("/healthz/live", headers={"Authorization": ""})

    assert (response.status_code, response.json()) == (200, {"status": "live"})


def test_ready_answers_200_while_identity_service_serves(facade: TestClient) -> None:
    """identity_service reports SERVING: ready, without a token."""
    response = facade.get("/healthz/ready", headers={"Authorization": ""})

    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_ready_flips_to_503_when_identity_service_stops_and_back_when_it_returns(
    own_server: ServerThread, db: Database, database_url: str
) -> None:
    """Stopped: 503 with the reason; started again on its port: 200."""
    port = own_server.running.port
    with facade_of(own_server) as facade:
        assert facade.get("/healthz/ready").status_code == 200
        own_server.stop()
        down = ready_status(facade, 503)
        reason = facade.get("/healthz/ready").json()["reason"]
        again = ServerThread(db, database_url, listen=f"127.0.0.1:{port}")
        try:
            back = ready_status(facade, 200)
        finally:
            again.stop()

    assert down == 503
    assert reason.startswith("identity_service unreachable")
    assert back == 200


def test_ready_is_503_while_identity_service_reports_not_serving(
    own_server: ServerThread,
) -> None:
    """NOT_SERVING (its database does not answer, or it drains): 503; SERVING: 200."""

    def report(status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        own_server.loop.run(own_server.running.health.set(health.OVERALL_HEALTH, status))

    with facade_of(own_server) as facade:
        report(NOT_SERVING)
        down = ready_status(facade, 503)
        report(SERVING)
        back = ready_status(facade, 200)

    assert (down, back) == (503, 200)


def test_probes_are_neither_counted_nor_logged(
    facade: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Probes every few seconds would drown the request lines."""
    caplog.set_level("INFO", logger="scim_facade.access")
    facade.get("/healthz/live")
    facade.get("/healthz/ready")
    facade.get("/scim/v2/ServiceProviderConfig")

    routes = [vars(r)["fields"]["route"] for r in caplog.records if r.name == "scim_facade.access"]
    assert routes == ["/scim/v2/ServiceProviderConfig"]
