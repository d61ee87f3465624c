"""The request body size limit of every SCIM route, at and past the edge,
declared by Content-Length or sent chunked; /Bulk keeps its own
maxPayloadSize. A refused request changes nothing."""

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import orjson
import pytest
from fastapi.testclient import TestClient

from identity_service.store.engine import Database
from scim_facade.app import create_app
from scim_facade.settings import Settings
from tests.facade.conftest import SCIM_JSON
from tests.facade.refusals import BASE, ROUTES, Route, tenant_state, user, user_and_group
from tests.helpers import TenantAccess, new_tenant

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
LIMIT = 2048
BULK_LIMIT = 4096


@pytest.fixture(scope="module")
def small(target: str) -> Iterator[TestClient]:
    """A facade whose bodies are limited to LIMIT bytes, bulk ones to BULK_LIMIT."""
    settings = Settings(
        identity_target=target, max_body_bytes=LIMIT, bulk_max_payload_bytes=BULK_LIMIT
    )
    with TestClient(create_app(settings), base_url="http://scim.test") as client:
        yield client


@pytest.fixture
def tenant(db: Database) -> TenantAccess:
    """A fresh tenant whose credential may also read the change log."""
    return new_tenant(db, ("scim", "watch"))


@pytest.fixture
def scim(small: TestClient, tenant: TenantAccess) -> TestClient:
    small.headers.update({"Authorization": f"Bearer {tenant.secret}", "Content-Type": SCIM_JSON})
    return small


def _padded(body: dict[str, Any], size: int) -> bytes:
    """`body` as JSON followed by white space, `size` bytes in all."""
    raw = orjson.dumps(body)
    return raw + b" " * (size - len(raw))


def _send(scim: TestClient, method: str, path: str, raw: bytes, chunked: bool) -> Any:
    # An iterator is sent without Content-Length (Transfer-Encoding: chunked).
    content = iter([raw[: len(raw) // 2], raw[len(raw) // 2 :]]) if chunked else raw
    return scim.request(method, f"{BASE}{path}", content=content)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_a_body_of_exactly_the_limit_is_accepted(
    scim: TestClient, route: Route, chunked: bool
) -> None:
    """max_body_bytes bytes are read and answered as usual (RFC 9110 §15.5.14 applies past it)."""
    method, path, body, status = route
    user, group = user_and_group(scim)
    response = _send(scim, method, path.format(u=user, g=group), _padded(body(), LIMIT), chunked)
    assert response.status_code == status, response.text


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_a_body_one_byte_past_the_limit_is_413_and_changes_nothing(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, route: Route, chunked: bool
) -> None:
    """One byte more is 413, a SCIM error naming the limit (RFC 9110 §15.5.14, RFC 7644 §3.12)."""
    method, path, body, _ = route
    user, group = user_and_group(scim)
    before = tenant_state(channel, tenant)
    response = _send(
        scim, method, path.format(u=user, g=group), _padded(body(), LIMIT + 1), chunked
    )
    assert response.status_code == 413
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "413",
        "detail": f"The request body exceeds the maximum of {LIMIT} bytes.",
    }
    assert tenant_state(channel, tenant) == before


@pytest.mark.parametrize(("size", "status"), [(BULK_LIMIT, 200), (BULK_LIMIT + 1, 413)])
def test_bulk_has_its_own_limit_maxPayloadSize(scim: TestClient, size: int, status: int) -> None:
    """/Bulk takes bodies up to maxPayloadSize, above max_body_bytes (RFC 7644 §3.7.4)."""
    body = {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "a",
                "data": user(),
            }
        ],
    }
    response = scim.post(f"{BASE}/Bulk", content=_padded(body, size))
    assert response.status_code == status, response.text
    if status == 413:
        assert f"maxPayloadSize ({BULK_LIMIT})" in response.json()["detail"]
    else:
        assert response.json()["Operations"][0]["status"] == "201"


def test_a_declared_length_past_the_limit_is_refused_before_the_body_is_read(
    small: TestClient, tenant: TenantAccess
) -> None:
    """A Content-Length over the limit is answered 413 without reading (RFC 9110 §15.5.14)."""
    headers = [
        (b"content-length", str(LIMIT + 1).encode()),
        (b"content-type", SCIM_JSON.encode()),
        (b"authorization", f"Bearer {tenant.secret}".encode()),
    ]
    sent = _call_unread(small, "POST", f"{BASE}/Users", headers)
    assert sent[0]["status"] == 413
    assert orjson.loads(sent[1]["body"])["status"] == "413"


def _call_unread(client: TestClient, method: str, path: str, headers: list[Any]) -> list[Any]:
    """The messages the app sends for a request whose body it must not read."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("scim.test", 80),
        "headers": headers,
    }
    sent: list[Any] = []

    async def receive() -> Any:
        raise AssertionError("the body was read")

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    return sent
