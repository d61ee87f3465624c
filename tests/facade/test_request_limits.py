"""Every limit of a SCIM request but the body size, at the edge (accepted)
and one past it (refused with the exact status and scimType, changing
nothing): PATCH operations, filter length, comparisons and nesting, string
lengths, values of a multi-valued attribute, members per request."""

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from identity_service.service import membership, validation
from identity_service.store.engine import Database
from scim_facade.patch import MAX_PATCH_OPERATIONS
from tests.facade.refusals import BASE, GROUP, PATCH_OP, USER, name, tenant_state, user_and_group
from tests.filter_edges import KINDS, filter_at_edge
from tests.helpers import TenantAccess, new_tenant

# identity_service's own limits, which the facade answers as SCIM errors.
MAX_MEMBERS_PER_CALL = membership.MAX_MEMBERS_PER_CALL
MAX_REPLACE_MEMBERS = membership.MAX_REPLACE_MEMBERS
MAX_NAME_LENGTH = validation.MAX_NAME_LENGTH
MAX_STRING_LENGTH = validation.MAX_STRING_LENGTH
MAX_VALUES_PER_ATTRIBUTE = validation.MAX_VALUES_PER_ATTRIBUTE


@pytest.fixture
def tenant(db: Database) -> TenantAccess:
    """A fresh tenant whose credential may also read the change log."""
    return new_tenant(db, ("scim", "watch"))


def _edge(
    scim: TestClient,
    channel: grpc.Channel,
    tenant: TenantAccess,
    request: tuple[str, str, dict[str, Any]],
    past: bool,
) -> dict[str, Any]:
    """The answer to `request` (method, path, JSON body); past the edge it
    must change nothing."""
    before = tenant_state(channel, tenant)
    method, path, body = request
    response = scim.request(method, f"{BASE}{path}", json=body)
    if past:
        assert tenant_state(channel, tenant) == before
    else:
        assert response.status_code < 300, response.text
    answer: dict[str, Any] = response.json() if response.content else {}
    return {**answer, "status": response.status_code}


def _operations(count: int) -> dict[str, Any]:
    operation = {"op": "replace", "path": "displayName", "value": "x"}
    return {"schemas": [PATCH_OP], "Operations": [operation] * count}


@pytest.mark.parametrize("resource", ["Users", "Groups"])
@pytest.mark.parametrize("past", [False, True], ids=["at", "past"])
def test_patch_operations_past_the_limit_are_400_invalidValue(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, resource: str, past: bool
) -> None:
    """MAX_PATCH_OPERATIONS operations run, one more is 400 invalidValue (RFC 7644 §3.12)."""
    user, group = user_and_group(scim)
    resource_id = user if resource == "Users" else group
    body = _operations(MAX_PATCH_OPERATIONS + past)
    answer = _edge(scim, channel, tenant, ("PATCH", f"/{resource}/{resource_id}", body), past)
    if past:
        assert (answer["status"], answer["scimType"]) == (400, "invalidValue")
        assert str(MAX_PATCH_OPERATIONS) in answer["detail"]


SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.mark.parametrize("endpoint", ["/Users", "/Groups", "/.search"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("past", [False, True], ids=["at", "past"])
def test_a_filter_past_a_limit_is_400_invalidFilter(
    scim: TestClient, endpoint: str, kind: str, past: bool
) -> None:
    """Filters up to each limit are answered, one past is 400 invalidFilter (RFC 7644 §3.4.2.2)."""
    expression = filter_at_edge(kind, past)
    if endpoint == "/.search":
        response = scim.post(f"{BASE}/.search", json={"schemas": [SEARCH], "filter": expression})
    else:
        response = scim.get(f"{BASE}{endpoint}", params={"filter": expression})
    if past:
        assert (response.status_code, response.json()["scimType"]) == (400, "invalidFilter")
    else:
        assert response.status_code == 200, response.text
        assert response.json()["totalResults"] == 0


def _emails(count: int) -> list[dict[str, str]]:
    return [{"value": f"u{i}@example.com", "type": "other"} for i in range(count)]


_VALUES = MAX_VALUES_PER_ATTRIBUTE
# Case -> the attributes of a user at the edge of one limit, or one past it.
USER_LIMITS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "userName length": lambda past: {"userName": "u" * (MAX_NAME_LENGTH + past)},
    "externalId length": lambda past: {"externalId": "e" * (MAX_NAME_LENGTH + past)},
    "displayName length": lambda past: {"displayName": "d" * (MAX_NAME_LENGTH + past)},
    "title length": lambda past: {"title": "t" * (MAX_STRING_LENGTH + past)},
    "givenName length": lambda past: {"name": {"givenName": "g" * (MAX_STRING_LENGTH + past)}},
    "emails": lambda past: {"emails": _emails(_VALUES + past)},
    "roles": lambda past: {"roles": [{"value": f"r{i}"} for i in range(_VALUES + past)]},
}  # fmt: skip


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("case", USER_LIMITS.keys())
@pytest.mark.parametrize("past", [False, True], ids=["at", "past"])
def test_a_user_value_past_a_limit_is_400_invalidValue(
    scim: TestClient,
    channel: grpc.Channel,
    tenant: TenantAccess,
    method: str,
    case: str,
    past: bool,
) -> None:
    """Strings and multi-valued attributes up to their limits pass; past them 400 invalidValue."""
    attributes = {"userName": f"{name()}-{uuid.uuid4().hex}", **USER_LIMITS[case](past)}
    user, _ = user_and_group(scim)
    path = "/Users" if method == "POST" else f"/Users/{user}"
    answer = _edge(scim, channel, tenant, (method, path, {"schemas": [USER], **attributes}), past)
    if past:
        assert (answer["status"], answer["scimType"]) == (400, "invalidValue")


@pytest.mark.parametrize("attribute", ["displayName", "externalId"])
@pytest.mark.parametrize("past", [False, True], ids=["at", "past"])
def test_a_group_name_past_its_length_is_400_invalidValue(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, attribute: str, past: bool
) -> None:
    """A group's displayName and externalId: MAX_NAME_LENGTH characters at most."""
    body = {"schemas": [GROUP], "displayName": name(), attribute: "g" * (MAX_NAME_LENGTH + past)}
    answer = _edge(scim, channel, tenant, ("POST", "/Groups", body), past)
    if past:
        assert (answer["status"], answer["scimType"]) == (400, "invalidValue")


def _absent(count: int) -> list[dict[str, str]]:
    """Members that are no one: removing them changes nothing (identity.v1)."""
    return [{"value": str(uuid.uuid4())} for _ in range(count)]


@pytest.mark.parametrize("past", [False, True], ids=["at", "past"])
def test_members_removed_in_one_patch_past_the_limit_are_413(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, past: bool
) -> None:
    """MAX_MEMBERS_PER_CALL removals (Entra's remove with values) pass; one more is 413."""
    _, group = user_and_group(scim)
    body = _members_patch("remove", MAX_MEMBERS_PER_CALL + past)
    answer = _edge(scim, channel, tenant, ("PATCH", f"/Groups/{group}", body), past)
    assert answer["status"] == (413 if past else 204)


def _group_with(members: int) -> dict[str, Any]:
    return {"schemas": [GROUP], "displayName": name(), "members": _absent(members)}


def _members_patch(op: str, members: int) -> dict[str, Any]:
    operation = {"op": op, "path": "members", "value": _absent(members)}
    return {"schemas": [PATCH_OP], "Operations": [operation]}


# Case -> (method, path with {g}, body) one member past the limit.
TOO_MANY_MEMBERS = {
    "POST": ("POST", "/Groups", lambda: _group_with(MAX_MEMBERS_PER_CALL + 1)),
    "PATCH add": ("PATCH", "/Groups/{g}", lambda: _members_patch("add", MAX_MEMBERS_PER_CALL + 1)),
    "PUT": ("PUT", "/Groups/{g}", lambda: _group_with(MAX_REPLACE_MEMBERS + 1)),
    "PATCH replace": (
        "PATCH",
        "/Groups/{g}",
        lambda: _members_patch("replace", MAX_REPLACE_MEMBERS + 1),
    ),
}


@pytest.mark.parametrize("case", TOO_MANY_MEMBERS.values(), ids=TOO_MANY_MEMBERS.keys())
def test_more_members_in_one_request_than_the_limit_is_413(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, case: Any
) -> None:
    """Past the members of one call (1,000 added, 10,000 as a whole list): 413, nothing changed."""
    method, path, body = case
    _, group = user_and_group(scim)
    answer = _edge(scim, channel, tenant, (method, path.format(g=group), body()), past=True)
    assert answer["status"] == 413
    assert answer["detail"].startswith("at most")
