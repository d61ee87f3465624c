"""identity_service down or slow behind the facade: every call has a
deadline, so the IdP gets 503 with Retry-After and a SCIM error body
(RFC 7644 §3.12) instead of a hanging request, and the same facade recovers
by itself once identity_service answers again. Each test runs its own
`identity-service serve` process, stops it (SIGSTOP), kills it (kill -9)
or replaces it with a socket that never answers."""

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scim_facade.app import create_app
from scim_facade.settings import Settings
from tests.faults.support import Identity, Stored, assert_unavailable, stored_sqlite
from tests.processes import Processes

BASE = "/scim/v2"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
DEADLINE_SECONDS = 2.0
# A facade without deadlines would hang: pytest-timeout fails such a test.
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def stored_data(tmp_path: Path) -> Iterator[Stored]:
    data = stored_sqlite(tmp_path)
    yield data
    data.database.dispose()


@pytest.fixture
def identity(tmp_path: Path, stored_data: Stored) -> Iterator[Identity]:
    processes = Processes(tmp_path)
    served = Identity(processes, stored_data.url)
    served.start()
    yield served
    processes.kill_all()


def _facade(target: str, secret: str) -> TestClient:
    settings = Settings(identity_target=target, identity_timeout_seconds=DEADLINE_SECONDS)
    client = TestClient(create_app(settings), base_url="http://scim.test")
    client.headers.update({"Authorization": f"Bearer {secret}"})
    return client


@pytest.fixture
def facade(identity: Identity, stored_data: Stored) -> Iterator[TestClient]:
    with _facade(identity.target, stored_data.tenant.secret) as client:
        yield client


def _user(user_name: str) -> dict[str, object]:
    return {"schemas": [CORE], "userName": user_name}


# One request per kind of call: reads (retried) and writes (never retried).
REQUESTS = [
    ("GET", "/Users", None),
    ("GET", "/Users/0b7f3c1e-0000-4000-8000-000000000000", None),
    ("POST", "/Users", _user("while-down")),
    ("DELETE", "/Users/0b7f3c1e-0000-4000-8000-000000000000", None),
]


def _until_listed(facade: TestClient) -> None:
    """GET /Users until it answers 200; every failure before must be a proper 503."""
    while (response := facade.get(f"{BASE}/Users")).status_code != 200:
        assert_unavailable(response)
        time.sleep(0.2)


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_a_stopped_identity_service_is_503_within_the_deadline_then_recovers(
    identity: Identity, facade: TestClient, method: str, path: str, body: object
) -> None:
    """A process that accepts nothing (SIGSTOP) makes the call hit its
    deadline: 503 with Retry-After and a SCIM error (RFC 7644 §3.12); after
    SIGCONT the same facade answers again."""
    assert facade.get(f"{BASE}/Users").status_code == 200
    identity.signal(signal.SIGSTOP)
    try:
        response = facade.request(method, f"{BASE}{path}", json=body)
    finally:
        identity.signal(signal.SIGCONT)
    assert_unavailable(response)
    _until_listed(facade)


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_a_killed_identity_service_is_503_and_a_restarted_one_is_used_without_a_facade_restart(
    identity: Identity, facade: TestClient, method: str, path: str, body: object
) -> None:
    """After kill -9 the facade answers 503 with Retry-After (RFC 7644
    §3.12); once a new process serves the address, the facade's channel
    reconnects by itself and writes succeed again."""
    assert facade.get(f"{BASE}/Users").status_code == 200
    identity.kill()
    assert_unavailable(facade.request(method, f"{BASE}{path}", json=body))
    identity.start()
    _until_listed(facade)
    assert facade.post(f"{BASE}/Users", json=_user("after-restart")).status_code == 201


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_a_server_that_accepts_connections_but_never_answers_is_503(
    stored_data: Stored, method: str, path: str, body: object
) -> None:
    """A socket that completes TCP handshakes but never speaks HTTP/2 (a hung
    host, a black-holing proxy): the deadline ends the call, 503 (RFC 7644 §3.12)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # never accepted: the kernel queues the connections
        target = f"127.0.0.1:{silent.getsockname()[1]}"
        with _facade(target, stored_data.tenant.secret) as client:
            assert_unavailable(client.request(method, f"{BASE}{path}", json=body))


def test_bulk_operations_while_identity_service_is_down_each_answer_503(
    identity: Identity, facade: TestClient
) -> None:
    """A bulk request reports each operation's own status (RFC 7644 §3.7.3):
    with identity_service gone every operation is 503, and the IdP can retry
    exactly those."""
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"b{n}", "data": _user(f"bulk-{n}")}
        for n in range(2)
    ]
    identity.kill()
    response = facade.post(f"{BASE}/Bulk", json={"schemas": [BULK], "Operations": operations})
    assert response.status_code == 200, response.text
    assert [op["status"] for op in response.json()["Operations"]] == ["503", "503"]
