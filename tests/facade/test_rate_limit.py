"""Rate limits through the facade: identity_service's RESOURCE_EXHAUSTED
with RetryInfo becomes 429 with Retry-After and a SCIM error (decision
0018). The facade runs in front of its own identity_service with small
limits; waits are the answer's own Retry-After, nothing asserts time."""

import time
from collections.abc import Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient

from identity_service.store.engine import Database
from scim_facade.app import create_app
from scim_facade.errors import ERROR_SCHEMA
from scim_facade.settings import Settings
from tests.conftest import ServerThread
from tests.facade.conftest import SCIM_JSON
from tests.helpers import TenantAccess, new_credential, new_tenant

BURST = 3
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
LIMITS = {
    # Four calls a second: a refusal's wait is under a second.
    "quick": {"rate_limit_credential_per_second": 4.0, "rate_limit_credential_burst": BURST},
    # One call every ten seconds: the wait after one call is 9 to 10 seconds.
    "slow": {"rate_limit_credential_per_second": 0.1, "rate_limit_credential_burst": 1},
}


@pytest.fixture(scope="module")
def facades(db: Database, database_url: str) -> Iterator[dict[str, TestClient]]:
    """The facade in front of an identity_service of each configuration in LIMITS."""
    servers = {name: ServerThread(db, database_url, **limits) for name, limits in LIMITS.items()}
    clients = {
        name: TestClient(
            create_app(Settings(identity_target=f"127.0.0.1:{server.running.port}")),
            base_url="http://scim.test",
        )
        for name, server in servers.items()
    }
    for client in clients.values():
        client.__enter__()
    yield clients
    for name, client in clients.items():
        client.__exit__(None, None, None)
        servers[name].stop()


def _headers(tenant: TenantAccess) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.secret}", "Content-Type": SCIM_JSON}


def _list(client: TestClient, tenant: TenantAccess, user_name: str = "") -> httpx2.Response:
    query = {"filter": f'userName eq "{user_name}"'} if user_name else {}
    return client.get("/scim/v2/Users", params=query, headers=_headers(tenant))


def _exhaust(client: TestClient, tenant: TenantAccess, burst: int = BURST) -> httpx2.Response:
    """Spend the burst with GETs (one call each), then return the answer after it."""
    for _ in range(burst):
        assert _list(client, tenant).status_code == 200
    return _list(client, tenant)


def test_a_request_past_the_limit_is_429_with_retry_after_and_a_scim_error(
    facades: dict[str, TestClient], tenant: TenantAccess
) -> None:
    """RFC 6585 §4: 429 Too Many Requests, with Retry-After (RFC 9110
    §10.2.3) and a SCIM error body (RFC 7644 §3.12)."""
    answer = _exhaust(facades["quick"], tenant)

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["schemas"] == [ERROR_SCHEMA]
    assert answer.json()["status"] == "429"
    assert "rate limit" in answer.json()["detail"]


def test_retry_after_is_the_wait_in_whole_seconds_rounded_up(
    facades: dict[str, TestClient], tenant: TenantAccess
) -> None:
    """The wait for the next token (9.x seconds at one call every ten) is
    sent as 10: never a wait that ends before the token is back."""
    answer = _exhaust(facades["slow"], tenant, burst=1)

    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "10")


def test_waiting_retry_after_lets_the_next_request_through(
    facades: dict[str, TestClient], tenant: TenantAccess
) -> None:
    """An IdP that honours Retry-After is served on its next try."""
    refused = _exhaust(facades["quick"], tenant)
    time.sleep(int(refused.headers["Retry-After"]))

    assert _list(facades["quick"], tenant).status_code == 200


def test_a_refused_post_creates_nothing(
    facades: dict[str, TestClient], tenant: TenantAccess
) -> None:
    """A 429 changed nothing: the user it would have created does not exist."""
    client = facades["quick"]
    body = {"schemas": [USER_SCHEMA], "userName": "refused@example.com"}
    for _ in range(BURST):
        assert _list(client, tenant).status_code == 200
    refused = client.post("/scim/v2/Users", json=body, headers=_headers(tenant))
    time.sleep(int(refused.headers["Retry-After"]))

    found = _list(client, tenant, "refused@example.com")

    assert refused.status_code == 429
    assert (found.status_code, found.json()["totalResults"]) == (200, 0)


def test_another_tenant_is_not_limited(
    facades: dict[str, TestClient], db: Database, tenant: TenantAccess
) -> None:
    """One tenant's IdP over its limit does not slow another tenant's."""
    _exhaust(facades["quick"], tenant)
    other = new_tenant(db)

    assert _list(facades["quick"], other).status_code == 200


def test_bulk_operations_past_the_limit_answer_429_each(
    facades: dict[str, TestClient], db: Database, tenant: TenantAccess
) -> None:
    """RFC 7644 §3.7.3: each operation of a Bulk request is one call and
    has its own status; those past the limit are 429 and created nothing."""
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"b{index}",
            "data": {"schemas": [USER_SCHEMA], "userName": f"bulk-{index}"},
        }
        for index in range(3)
    ]
    request = {"schemas": [BULK_REQUEST], "Operations": operations}
    answer = facades["slow"].post("/scim/v2/Bulk", json=request, headers=_headers(tenant))
    reader = TenantAccess(tenant.slug, new_credential(db, tenant.slug, ("read",)))

    listed = _list(facades["slow"], reader).json()["Resources"]

    assert answer.status_code == 200
    results = answer.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "429", "429"]
    assert results[1]["response"]["status"] == "429"
    assert [u["userName"] for u in listed] == ["bulk-0"]
