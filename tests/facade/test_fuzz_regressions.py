"""Requests the fuzz tests found answered with a 500, each now a 4xx that
changes nothing: NUL and lone surrogates in filter literals, control
characters in resource ids and member values (PostgreSQL text cannot hold
NUL), and header values gRPC metadata cannot carry."""

import urllib.parse
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.facade.fuzzing import ERROR, GROUP, PATCH_OP, SEARCH, USER, TenantDump, dump
from tests.helpers import Stubs, TenantAccess


@pytest.fixture
def dumped(stubs: Stubs, tenant: TenantAccess) -> Callable[[], TenantDump]:
    return lambda: dump(stubs, tenant)


def _refused(response: object, status: int, scim_type: str | None = None) -> None:
    body = response.json()  # type: ignore[attr-defined]
    assert (response.status_code, ERROR in body["schemas"]) == (status, True), body  # type: ignore[attr-defined]
    assert body.get("scimType") == scim_type


@pytest.mark.parametrize("resources", ["Users", "Groups"])
@pytest.mark.parametrize(
    "expression",
    ['displayName eq "a\\u0000"', 'externalId co "\\u0000"', 'displayName eq "\\ud800"'],
    ids=["nul", "nul-exact", "lone-surrogate"],
)
def test_a_filter_literal_that_is_not_text_is_an_invalid_filter(
    scim: TestClient, resources: str, expression: str
) -> None:
    """A string no attribute can hold (NUL, a lone surrogate escaped in the
    literal) is 400 invalidFilter (RFC 7644 §3.4.2.2), not a database error."""
    query = urllib.parse.quote(expression)

    _refused(scim.get(f"/scim/v2/{resources}?filter={query}"), 400, "invalidFilter")
    search = {"schemas": [SEARCH], "filter": expression}
    _refused(scim.post(f"/scim/v2/{resources}/.search", json=search), 400, "invalidFilter")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("resources", ["Users", "Groups"])
def test_an_id_with_a_control_character_is_refused_and_changes_nothing(
    scim: TestClient, dumped: Callable[[], TenantDump], method: str, resources: str
) -> None:
    """/Users/%00 names no resource: a 4xx (RFC 7644 §3.12), nothing changed."""
    bodies = {
        "PUT": {"schemas": [USER if resources == "Users" else GROUP], "userName": "x"},
        "PATCH": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "x"}]},
    }
    before = dumped()

    response = scim.request(method, f"/scim/v2/{resources}/a%00b", json=bodies.get(method))

    _refused(response, 400, "invalidValue")
    assert dumped() == before


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "members", "value": [{"value": "\x00"}]},
        {"op": "replace", "path": "members", "value": [{"value": "a\x01"}]},
        {"op": "remove", "path": 'members[value eq "\\u0000"]'},
    ],
    ids=["add", "replace", "remove-by-filter"],
)
def test_a_member_value_with_a_control_character_is_refused_and_changes_nothing(
    scim: TestClient, dumped: Callable[[], TenantDump], operation: dict[str, object]
) -> None:
    """A PATCH naming a member no id can be is 400 and applies nothing (RFC 7644 §3.5.2)."""
    group = scim.post("/scim/v2/Groups", json={"schemas": [GROUP], "displayName": "g"}).json()
    before = dumped()

    response = scim.patch(
        f"/scim/v2/Groups/{group['id']}", json={"schemas": [PATCH_OP], "Operations": [operation]}
    )

    assert response.status_code == 400, response.text
    assert dumped() == before


def test_a_token_that_is_not_printable_ascii_is_401(scim: TestClient) -> None:
    """A bearer token gRPC metadata cannot carry is no token (RFC 6750 §3.1)."""
    headers = {"Authorization": "Bearer t\u00e9t\u00e9".encode("latin-1")}

    response = scim.get("/scim/v2/Users", headers=headers)  # type: ignore[arg-type]

    _refused(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_client_address_that_is_not_printable_is_recorded_encoded(scim: TestClient) -> None:
    """X-Forwarded-For is the change log's client; what metadata cannot carry
    is percent-encoded, so the write still happens."""
    headers = {"X-Forwarded-For": "\u00e9\x01".encode("latin-1")}

    response = scim.post(
        "/scim/v2/Users",
        json={"schemas": [USER], "userName": "h"},
        headers=headers,  # type: ignore[arg-type]
    )

    assert response.status_code == 201, response.text
