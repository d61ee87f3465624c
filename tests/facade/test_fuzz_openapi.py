"""schemathesis against the facade's own OpenAPI document: every SCIM route
is described in it (paths, parameters, SCIM JSON bodies derived from
scim2-models), and requests generated from it, valid and not, never get a
5xx; a refused one changes nothing."""

from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import Phase, settings

from scim_facade.app import create_app
from scim_facade.routes import bulk, discovery, groups, me, search, users
from scim_facade.routes.common import PREFIX
from scim_facade.settings import Settings
from tests.facade.fuzzing import FUZZ, GROUP, USER, check_answer, dump
from tests.helpers import Stubs, TenantAccess

DOCUMENT = create_app(Settings()).openapi()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
BASE_URL = "http://scim.test"
_HTTPX_ARGUMENTS = ("method", "url", "headers", "params", "json", "data", "content")


def _scim_operations() -> list[tuple[str, str]]:
    """(method, path) of every SCIM route the app includes and documents."""
    routers = (users, groups, search, discovery, me, bulk)
    return sorted(
        (method.lower(), PREFIX + route.path_format)
        for module in routers
        for route in module.router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    )


@pytest.mark.parametrize(("method", "path"), _scim_operations())
def test_every_scim_route_is_described_in_the_openapi_document(method: str, path: str) -> None:
    """Each route and method is an operation of its own, with its path
    parameters declared (OpenAPI 3.1 §4.8.12)."""
    operation = DOCUMENT["paths"][path][method]
    declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}


def test_every_operation_has_an_id_of_its_own() -> None:
    """Operation ids are unique (OpenAPI 3.1 §4.8.10): /Me's methods too."""
    ids = [o["operationId"] for ops in DOCUMENT["paths"].values() for o in ops.values()]
    assert sorted(ids) == sorted(set(ids))


@pytest.mark.parametrize(
    ("method", "path", "required"),
    [
        ("post", "/scim/v2/Users", {"userName"}),
        ("put", "/scim/v2/Users/{user_id}", {"userName"}),
        ("patch", "/scim/v2/Users/{user_id}", {"Operations"}),
        ("post", "/scim/v2/Groups", {"displayName"}),
        ("put", "/scim/v2/Groups/{group_id}", {"displayName"}),
        ("patch", "/scim/v2/Groups/{group_id}", {"Operations"}),
        ("post", "/scim/v2/Users/.search", {"filter"}),
        ("post", "/scim/v2/Groups/.search", {"filter"}),
        ("post", "/scim/v2/.search", {"filter"}),
        ("post", "/scim/v2/Bulk", {"Operations"}),
    ],
)
def test_every_body_a_route_reads_is_described_as_scim_json(
    method: str, path: str, required: set[str]
) -> None:
    """Routes that read their body raw still document it, as
    application/scim+json (RFC 7644 §3.1) with the attributes of the
    message, derived from scim2-models."""
    body = DOCUMENT["paths"][path][method]["requestBody"]
    schema = body["content"]["application/scim+json"]["schema"]
    assert required <= set(schema["properties"])
    assert "$defs" not in str(schema)


@pytest.mark.parametrize("resources", ["Users", "Groups"])
def test_list_queries_describe_their_parameters(resources: str) -> None:
    """GET lists document RFC 7644 §3.4.2's query parameters and RFC 9865's cursor."""
    operation = DOCUMENT["paths"][f"/scim/v2/{resources}"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names == {
        "filter", "sortBy", "sortOrder", "startIndex", "count", "cursor",
        "attributes", "excludedAttributes",
    }  # fmt: skip


@pytest.fixture
def seeded_ids(scim: TestClient) -> dict[str, str]:
    """A user and a group holding it: where generated requests on one resource go."""
    user = scim.post("/scim/v2/Users", json={"schemas": [USER], "userName": "alice"}).json()
    members = [{"value": user["id"]}]
    body = {"schemas": [GROUP], "displayName": "Staff", "members": members}
    group = scim.post("/scim/v2/Groups", json=body).json()
    return {"user_id": user["id"], "group_id": group["id"]}


def _request(case: Any, tenant: TenantAccess, ids: dict[str, str]) -> dict[str, Any]:
    """The generated request, on the seeded resources, as the tenant's IdP."""
    for parameter in set(ids) & set(case.path_parameters or {}):
        case.path_parameters[parameter] = ids[parameter]
    sent = case.as_transport_kwargs(base_url=BASE_URL)
    sent["headers"] = {**sent.get("headers", {}), "Authorization": f"Bearer {tenant.secret}"}
    if isinstance(sent.get("data"), bytes | str):  # requests' raw body is httpx's content
        sent["content"] = sent.pop("data")
    return {k: v for k, v in sent.items() if k in _HTTPX_ARGUMENTS}


# Generated cases only: schemathesis' explicit coverage cases are some sixty
# an operation, more than the suite's time allows on two cores.
@SCHEMA.parametrize()
@settings(FUZZ, max_examples=6, phases=[Phase.generate, Phase.shrink])
def test_every_documented_operation_answers_without_a_server_error(
    case: Any, facade: TestClient, stubs: Stubs, tenant: TenantAccess, seeded_ids: dict[str, str]
) -> None:
    """Requests the OpenAPI document describes, and ones it does not allow,
    are a 2xx or a SCIM error (RFC 7644 §3.12), never a 5xx but /Me's 501
    (RFC 7644 §3.11)."""
    before = dump(stubs, tenant)
    response = facade.request(**_request(case, tenant, seeded_ids))
    if case.path.startswith("/scim/v2/Me") and response.status_code == 501:
        assert response.json()["status"] == "501"
    else:
        check_answer(response, before, lambda: dump(stubs, tenant))
