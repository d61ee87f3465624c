"""Every SCIM request's id, metrics and log line (scim_facade/observe.py,
decision 0020): X-Request-Id is kept when valid, else made; it comes back
in the response, reaches identity_service's RPC line and the change record;
the facade's /metrics counts requests by route template, method, status and
tenant."""

import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from identity.v1 import change_pb2, change_service_pb2_grpc

from identity_service.store.engine import Database
from roster_telemetry.logs import JsonFormatter
from scim_facade.app import create_app
from scim_facade.settings import Settings
from tests.changes.conftest import watcher
from tests.facade.conftest import SCIM_JSON
from tests.helpers import TenantAccess
from tests.scrape import Samples
from tests.scrape import scrape as scrape_port

GENERATED = re.compile(r"[0-9a-f]{32}")
USER = "/scim/v2/Users/{user_id}"


@pytest.fixture(scope="module")
def metered(target: str) -> Iterator[TestClient]:
    """A facade with its metrics listener on 127.0.0.1:0."""
    settings = Settings(identity_target=target, metrics_listen="127.0.0.1:0")
    with TestClient(create_app(settings), base_url="http://scim.test") as client:
        yield client


def scrape(facade: TestClient) -> Samples:
    """Every sample of the facade's /metrics."""
    return scrape_port(facade.app.state.metrics.port)  # type: ignore[attr-defined]


def requests_total(scraped: Samples, route: str, method: str, status: int, tenant: str) -> float:
    labels = {"route": route, "http_method": method, "status": str(status), "tenant": tenant}
    return scraped.get(("roster_facade_requests_total", frozenset(labels.items())), 0.0)


def auth(tenant: TenantAccess, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.secret}", "Content-Type": SCIM_JSON, **headers}


def test_a_valid_x_request_id_comes_back_in_the_response(
    scim: TestClient,
) -> None:
    """The IdP's X-Request-Id is the request's id."""
    response = scim.get("/scim/v2/Users?count=1", headers={"X-Request-Id": "okta-4e1f.77"})

    assert response.headers["x-request-id"] == "okta-4e1f.77"


@pytest.mark.parametrize("given", ["has space", "x" * 65, "<script>", "-leading-dash", "tab\there"])
def test_an_invalid_x_request_id_is_replaced_by_a_new_one(scim: TestClient, given: str) -> None:
    """Only a short printable token is kept: it goes into headers, logs and the change log."""
    response = scim.get("/scim/v2/Users?count=1", headers={"X-Request-Id": given})

    assert GENERATED.fullmatch(response.headers["x-request-id"])


def test_requests_without_an_id_get_one_each(scim: TestClient) -> None:
    """Two requests without X-Request-Id get two different ids."""
    ids = {scim.get("/scim/v2/Users?count=1").headers["x-request-id"] for _ in range(2)}

    assert len(ids) == 2
    assert all(GENERATED.fullmatch(i) for i in ids)


def test_an_error_answer_carries_the_request_id_too(facade: TestClient) -> None:
    """A 401 (no token) still says which request it was."""
    response = facade.get(
        "/scim/v2/Users", headers={"X-Request-Id": "idp-401", "Authorization": ""}
    )

    assert response.status_code == 401
    assert response.headers["x-request-id"] == "idp-401"


def test_one_request_id_in_the_facade_line_the_rpc_line_and_the_change_record(
    facade: TestClient,
    db: Database,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A SCIM POST with X-Request-Id: the facade's JSON line, identity_service's
    JSON line for CreateUser and the USER_CREATED record all carry it."""
    caplog.set_level(logging.INFO)
    log = watcher(db, change_stub, tenant)
    response = facade.post(
        "/scim/v2/Users",
        json={"userName": "alice"},
        headers=auth(tenant, **{"X-Request-Id": "e2e-1"}),
    )
    assert response.status_code == 201, response.text

    facade_lines = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.name == "scim_facade.access"
    ]
    rpc_lines = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.name == "identity_service.rpc"
    ]
    [request_line] = [line for line in facade_lines if line["request_id"] == "e2e-1"]
    [rpc_line] = [line for line in rpc_lines if line["request_id"] == "e2e-1"]
    records = [r for r in log.all() if "/users/" in r.resource]

    assert (request_line["route"], request_line["http_method"], request_line["status"]) == (
        "/scim/v2/Users",
        "POST",
        201,
    )
    assert request_line["tenant"] == tenant.slug
    assert rpc_line["rpc"] == "/identity.v1.UserService/CreateUser"
    assert [(r.kind, r.request_id) for r in records] == [(change_pb2.Change.USER_CREATED, "e2e-1")]


def test_the_facade_line_holds_no_bearer_token(
    facade: TestClient, tenant: TenantAccess, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the facade's nor identity_service's lines of a request hold its token."""
    caplog.set_level(logging.INFO)
    facade.get("/scim/v2/Users?count=1", headers=auth(tenant, **{"X-Request-Id": "no-secret"}))

    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert any("no-secret" in line for line in lines)
    assert not any(tenant.secret in line for line in lines)


def test_requests_are_counted_by_route_template_method_status_and_tenant(
    metered: TestClient, tenant: TenantAccess
) -> None:
    """Two reads of a user and one of a missing user: 200 twice and 404 once,
    under the route's template and the tenant's slug; the id is no label."""
    created = metered.post("/scim/v2/Users", json={"userName": "bob"}, headers=auth(tenant))
    user_id = created.json()["id"]
    for _ in range(2):
        assert metered.get(f"/scim/v2/Users/{user_id}", headers=auth(tenant)).status_code == 200
    missing = metered.get(
        "/scim/v2/Users/00000000-0000-0000-0000-000000000000", headers=auth(tenant)
    )
    assert missing.status_code == 404

    scraped = scrape(metered)

    assert requests_total(scraped, USER, "GET", 200, tenant.slug) == 2
    assert requests_total(scraped, USER, "GET", 404, tenant.slug) == 1
    assert requests_total(scraped, "/scim/v2/Users", "POST", 201, tenant.slug) == 1
    assert not any(user_id in value for _, labels in scraped for _, value in labels)


def test_a_request_without_a_token_is_counted_without_a_tenant(metered: TestClient) -> None:
    """401 before any RPC: tenant "-"."""
    before = requests_total(scrape(metered), "/scim/v2/Users", "GET", 401, "-")
    assert metered.get("/scim/v2/Users").status_code == 401

    assert requests_total(scrape(metered), "/scim/v2/Users", "GET", 401, "-") == before + 1


def test_request_latency_is_observed_per_route_template(
    metered: TestClient, tenant: TenantAccess
) -> None:
    """Each request adds one observation to its route's histogram."""
    name = "roster_facade_request_duration_seconds_count"
    labels = frozenset({"route": "/scim/v2/Users", "http_method": "GET"}.items())
    before = scrape(metered).get((name, labels), 0.0)
    metered.get("/scim/v2/Users?count=1", headers=auth(tenant))

    assert scrape(metered)[(name, labels)] == before + 1


def test_an_unknown_path_is_counted_as_unmatched(metered: TestClient) -> None:
    """A path no route matches is "unmatched", never the raw path."""
    metered.get("/not/a/scim/path/12345")

    scraped = scrape(metered)
    assert requests_total(scraped, "unmatched", "GET", 404, "-") >= 1
    assert not any("12345" in value for _, labels in scraped for _, value in labels)
