"""Both services as their commands run them (`serve --log-format json
--metrics-listen ...`), on a SQLite file: every line they write is one JSON
object, one X-Request-Id ties the facade's line to identity_service's, and
each /metrics answers (decision 0020)."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from identity_service.store.engine import Database
from tests.helpers import TenantAccess, new_tenant
from tests.processes import Processes, Started, free_port, wait_until_serving
from tests.replicas import migrate
from tests.scrape import scrape


@dataclass(frozen=True)
class Roster:
    identity: Started
    facade: Started
    base_url: str
    identity_metrics: int
    facade_metrics: int
    tenant: TenantAccess


@pytest.fixture(scope="module")
def roster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    directory = tmp_path_factory.mktemp("observability")
    url = f"sqlite:///{directory / 'roster.db'}"
    migrate(url)
    db = Database.from_url(url)
    tenant = new_tenant(db)
    db.dispose()
    processes = Processes(directory)
    try:
        yield _start(processes, url, tenant)
    finally:
        processes.kill_all()


def _start(processes: Processes, url: str, tenant: TenantAccess) -> Roster:
    identity_metrics, facade_metrics = free_port(), free_port()
    identity = processes.start(
        "identity_service",
        ["--database-url", url, "--listen", "127.0.0.1:0", "--log-format", "json"],
        {"ROSTER_METRICS_LISTEN": f"127.0.0.1:{identity_metrics}"},
    )
    target = f"127.0.0.1:{identity.port()}"
    wait_until_serving(target)
    facade = processes.start(
        "scim_facade",
        ["--log-format", "json", "--metrics-listen", f"127.0.0.1:{facade_metrics}"],
        {"ROSTER_FACADE_IDENTITY_TARGET": target, "ROSTER_FACADE_LISTEN": "127.0.0.1:0"},
    )
    base_url = f"http://127.0.0.1:{facade.port()}"
    return Roster(identity, facade, base_url, identity_metrics, facade_metrics, tenant)


def lines(started: Started, request_id: str) -> list[dict[str, object]]:
    """Every line of the process's log as JSON, once one names `request_id`
    (a line is written after its request is answered)."""
    deadline = time.monotonic() + 10
    while True:
        parsed = [json.loads(line) for line in started.log.read_text().splitlines() if line]
        if any(entry.get("request_id") == request_id for entry in parsed):
            return parsed
        if time.monotonic() > deadline:
            return parsed
        time.sleep(0.05)


def metric_names(port: int) -> set[str]:
    return {name for name, _ in scrape(port)}


def test_every_line_is_json_and_one_request_id_ties_both_services(roster: Roster) -> None:
    """The facade's line and identity_service's CreateUser line carry the IdP's X-Request-Id."""
    headers = {
        "Authorization": f"Bearer {roster.tenant.secret}",
        "Content-Type": "application/scim+json",
        "X-Request-Id": "proc-e2e-1",
    }
    answer = httpx.post(
        f"{roster.base_url}/scim/v2/Users", json={"userName": "alice"}, headers=headers
    )
    assert answer.status_code == 201, answer.text

    facade_lines = lines(roster.facade, "proc-e2e-1")
    service_lines = lines(roster.identity, "proc-e2e-1")

    [request] = [e for e in facade_lines if e.get("request_id") == "proc-e2e-1"]
    [rpc] = [e for e in service_lines if e.get("request_id") == "proc-e2e-1"]
    assert (request["route"], request["status"], request["tenant"]) == (
        "/scim/v2/Users",
        201,
        roster.tenant.slug,
    )
    assert rpc["rpc"] == "/identity.v1.UserService/CreateUser"
    assert not any(roster.tenant.secret in json.dumps(e) for e in facade_lines + service_lines)


@pytest.mark.parametrize(
    ("port", "family"),
    [
        ("identity_metrics", "roster_rpc_requests_total"),
        ("facade_metrics", "roster_facade_requests_total"),
        ("identity_metrics", "process_cpu_seconds_total"),
    ],
    ids=["identity_service", "scim_facade", "process"],
)
def test_each_metrics_listener_answers_with_its_service_s_families(
    roster: Roster, port: str, family: str
) -> None:
    """Each service's /metrics, on the port its setting names, after a call."""
    httpx.get(
        f"{roster.base_url}/scim/v2/Users?count=1",
        headers={"Authorization": f"Bearer {roster.tenant.secret}"},
    )

    assert family in metric_names(getattr(roster, port))


def test_the_facade_is_ready_behind_a_serving_identity_service(roster: Roster) -> None:
    """/healthz/ready through the real command: 200."""
    answer = httpx.get(f"{roster.base_url}/healthz/ready", timeout=5)

    assert answer.status_code == 200


def test_the_facade_writes_no_uvicorn_access_line(roster: Roster) -> None:
    """Its own line per request replaces uvicorn's access log."""
    httpx.get(f"{roster.base_url}/scim/v2/ServiceProviderConfig", headers={"X-Request-Id": "spc-1"})

    loggers = [e["logger"] for e in lines(roster.facade, "spc-1")]
    assert "scim_facade.access" in loggers
    assert "uvicorn.access" not in loggers
