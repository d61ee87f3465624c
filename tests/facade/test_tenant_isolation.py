"""Tenant isolation at the SCIM facade: every route, called with tenant A's
bearer token on tenant B's ids, userNames, externalIds, emails,
displayNames, etags, cursors and bulkIds. The answer must be exactly what
values that exist nowhere get (status, SCIM body, headers, with the values
blanked out), and B's users, groups, members and change log must be
unchanged (DESIGN.md "Tenancy": another tenant's resource is
indistinguishable from a missing one, RFC 7644 §7.8 "Data confidentiality")."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from identity.v1 import change_service_pb2_grpc

from identity_service.store.engine import Database
from tests.facade.isolation import (
    CORE_GROUP,
    CORE_USER,
    PATCH_OP,
    Tenant,
    Values,
    every_route,
    outcome,
    populate,
    snapshot,
)
from tests.helpers import Metadata, TenantAccess, bearer, new_credential

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

# A request: method, path, JSON body or None, extra headers.
Request = tuple[str, str, object, dict[str, str]]
# A case builds its request from B's values (or missing ones) and the id of
# a group of A's own.
Case = Callable[[Values, str], Request]


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def _search(flt: str) -> dict[str, Any]:
    return {"schemas": [SEARCH_REQUEST], "filter": flt}


def _bulk(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST], "Operations": list(operations)}


def _get(path: str, headers: dict[str, str] | None = None) -> Request:
    return "GET", path, None, headers or {}


DEACTIVATE = _patch({"op": "replace", "path": "active", "value": False})
RENAME = _patch({"op": "replace", "path": "displayName", "value": "changed by A"})


def _user(name: str) -> dict[str, Any]:
    return {"schemas": [CORE_USER], "userName": name}


def _group(name: str, *members: str) -> dict[str, Any]:
    return {
        "schemas": [CORE_GROUP],
        "displayName": name,
        "members": [{"value": m} for m in members],
    }


def _their_resources_in_bulk(v: Values, own: str) -> Request:
    """Every method of /Bulk on B's resources, and B's user as a member."""
    return (
        "POST",
        "/Bulk",
        _bulk(
            {"method": "PUT", "path": f"/Users/{v.user}", "data": _user("intruder")},
            {"method": "PATCH", "path": f"/Users/{v.user}", "data": DEACTIVATE},
            {"method": "PATCH", "path": f"/Groups/{v.group}", "data": RENAME},
            {"method": "DELETE", "path": f"/Groups/{v.group}"},
            {"method": "DELETE", "path": f"/Users/{v.user}", "version": v.user_etag},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": _group("mine", v.user)},
        ),
        {},
    )


def _their_ids_as_bulk_ids(v: Values, own: str) -> Request:
    """bulkIds are the request's own: B's ids as bulkIds reach only A's new user."""
    add = _patch({"op": "add", "path": "members", "value": [{"value": f"bulkId:{v.user}"}]})
    return (
        "POST",
        "/Bulk",
        _bulk(
            {"method": "POST", "path": "/Users", "bulkId": v.user, "data": _user(v.user_name)},
            {"method": "PATCH", "path": f"/Groups/{own}", "data": add},
            {"method": "PATCH", "path": f"/Groups/bulkId:{v.group}", "data": RENAME},
        ),
        {},
    )


def _me(method: str, path: str) -> Case:
    def case(v: Values, own: str) -> Request:
        return method, path, None, {}

    return case


CASES: dict[str, tuple[Case, int]] = {
    # Users by id
    "GET /Users/{id}": (lambda v, own: _get(f"/Users/{v.user}"), 404),
    "GET /Users/{id} deleted": (lambda v, own: _get(f"/Users/{v.deleted_user}"), 404),
    "GET /Users/{id} If-None-Match": (
        lambda v, own: _get(f"/Users/{v.user}", {"If-None-Match": v.user_etag}),
        404,
    ),
    "PUT /Users/{id}": (lambda v, own: ("PUT", f"/Users/{v.user}", _user("intruder"), {}), 404),
    "PUT /Users/{id} If-Match": (
        lambda v, own: ("PUT", f"/Users/{v.user}", _user("x"), {"If-Match": v.user_etag}),
        404,
    ),
    "PATCH /Users/{id}": (lambda v, own: ("PATCH", f"/Users/{v.user}", DEACTIVATE, {}), 404),
    "PATCH /Users/{id} If-Match": (
        lambda v, own: ("PATCH", f"/Users/{v.user}", DEACTIVATE, {"If-Match": v.user_etag}),
        404,
    ),
    "DELETE /Users/{id}": (lambda v, own: ("DELETE", f"/Users/{v.user}", None, {}), 404),
    "DELETE /Users/{id} deleted": (
        lambda v, own: ("DELETE", f"/Users/{v.deleted_user}", None, {}),
        404,
    ),
    # Users by value
    "GET /Users filter id": (lambda v, own: _get(f'/Users?filter=id eq "{v.user}"'), 200),
    "GET /Users filter userName": (
        lambda v, own: _get(f'/Users?filter=userName eq "{v.user_name}"'),
        200,
    ),
    "GET /Users filter userName sw": (
        lambda v, own: _get(f'/Users?filter=userName sw "{v.user_name[:4]}"'),
        200,
    ),
    "GET /Users filter externalId": (
        lambda v, own: _get(f'/Users?filter=externalId eq "{v.external_id}"'),
        200,
    ),
    "GET /Users filter emails": (
        lambda v, own: _get(f'/Users?filter=emails.value eq "{v.email}"'),
        200,
    ),
    "GET /Users filter groups": (
        lambda v, own: _get(f'/Users?filter=groups[value eq "{v.group}"]'),
        200,
    ),
    "POST /Users/.search": (
        lambda v, own: ("POST", "/Users/.search", _search(f'userName eq "{v.user_name}"'), {}),
        200,
    ),
    "POST /.search": (
        lambda v, own: ("POST", "/.search", _search(f'externalId eq "{v.external_id}"'), {}),
        200,
    ),
    "GET /Users cursor": (lambda v, own: _get(f"/Users?cursor={v.users_cursor}&count=1"), 400),
    "POST /Users/.search cursor": (
        lambda v, own: (
            "POST",
            "/Users/.search",
            {"schemas": [SEARCH_REQUEST], "cursor": v.users_cursor, "count": 1},
            {},
        ),
        400,
    ),
    "POST /Users their userName": (
        lambda v, own: (
            "POST",
            "/Users",
            {**_user(v.user_name), "externalId": v.external_id, "emails": [{"value": v.email}]},
            {},
        ),
        201,
    ),
    # Groups by id
    "GET /Groups/{id}": (lambda v, own: _get(f"/Groups/{v.group}"), 404),
    "PUT /Groups/{id}": (lambda v, own: ("PUT", f"/Groups/{v.group}", _group("x"), {}), 404),
    "PUT /Groups/{id} If-Match": (
        lambda v, own: ("PUT", f"/Groups/{v.group}", _group("x"), {"If-Match": v.group_etag}),
        404,
    ),
    "PATCH /Groups/{id}": (lambda v, own: ("PATCH", f"/Groups/{v.group}", RENAME, {}), 404),
    "DELETE /Groups/{id}": (lambda v, own: ("DELETE", f"/Groups/{v.group}", None, {}), 404),
    # Groups by value, and B's users as members of A's groups
    "GET /Groups filter displayName": (
        lambda v, own: _get(f'/Groups?filter=displayName eq "{v.group_name}"'),
        200,
    ),
    "GET /Groups filter member": (
        lambda v, own: _get(f'/Groups?filter=members[value eq "{v.user}"]'),
        200,
    ),
    "POST /Groups/.search": (
        lambda v, own: ("POST", "/Groups/.search", _search(f'id eq "{v.group}"'), {}),
        200,
    ),
    "GET /Groups cursor": (lambda v, own: _get(f"/Groups?cursor={v.groups_cursor}&count=1"), 400),
    "POST /Groups/.search cursor": (
        lambda v, own: (
            "POST",
            "/Groups/.search",
            {"schemas": [SEARCH_REQUEST], "cursor": v.groups_cursor, "count": 1},
            {},
        ),
        400,
    ),
    "POST /Groups their displayName": (
        lambda v, own: ("POST", "/Groups", _group(v.group_name), {}),
        201,
    ),
    "POST /Groups their user as member": (
        lambda v, own: ("POST", "/Groups", _group("mine", v.user), {}),
        400,
    ),
    "PUT own group, their user as member": (
        lambda v, own: ("PUT", f"/Groups/{own}", _group("mine", v.user), {}),
        400,
    ),
    "PATCH own group, add their user": (
        lambda v, own: (
            "PATCH",
            f"/Groups/{own}",
            _patch({"op": "add", "path": "members", "value": [{"value": v.user}]}),
            {},
        ),
        400,
    ),
    "PATCH own group, add their group": (
        lambda v, own: (
            "PATCH",
            f"/Groups/{own}",
            _patch({"op": "add", "path": "members", "value": [{"value": v.group}]}),
            {},
        ),
        400,
    ),
    "PATCH own group, remove their user": (
        lambda v, own: (
            "PATCH",
            f"/Groups/{own}",
            _patch({"op": "remove", "path": f'members[value eq "{v.user}"]'}),
            {},
        ),
        204,
    ),
    # Bulk
    "POST /Bulk their resources": (_their_resources_in_bulk, 200),
    "POST /Bulk their ids as bulkIds": (_their_ids_as_bulk_ids, 200),
    # No tenant data at all
    **{
        f"{method} {path}": (_me(method, path), 501)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        for path in ("/Me", "/Me/Groups")
    },
    "GET /ServiceProviderConfigs": (lambda v, own: _get("/ServiceProviderConfigs"), 200),
    "GET /ServiceProviderConfig": (lambda v, own: _get("/ServiceProviderConfig"), 200),
    "GET /ResourceTypes": (lambda v, own: _get("/ResourceTypes"), 200),
    "GET /ResourceTypes/User": (lambda v, own: _get("/ResourceTypes/User"), 200),
    "GET /Schemas": (lambda v, own: _get("/Schemas"), 200),
    "GET /Schemas/{User}": (lambda v, own: _get(f"/Schemas/{CORE_USER}"), 200),
}


@dataclass(frozen=True)
class World:
    a: Tenant
    own_group: str
    b: Tenant
    b_values: Values
    b_state: Callable[[], tuple[object, ...]]


@pytest.fixture
def world(
    db: Database,
    facade: TestClient,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
    other_tenant: TenantAccess,
) -> World:
    """A with a group of its own; B with users, a deleted user and groups."""
    a, b = Tenant(facade, tenant.secret), Tenant(facade, other_tenant.secret)
    own = a.ok("POST", "/Groups", _group("A's"))["id"]
    watcher: Metadata = bearer(new_credential(db, other_tenant.slug, ("watch",)))
    return World(
        a,
        own,
        b,
        populate(b),
        lambda: snapshot(b, change_stub, other_tenant.parent, watcher),
    )


def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)))


def _route(method: str, path: str, routes: set[tuple[str, str]]) -> tuple[str, str]:
    """The route a request reaches: a literal path before a template."""
    path = path.split("?", maxsplit=1)[0]
    matching = [r for r in routes if r[0] == method and _template(r[1]).fullmatch(path)]
    return min(matching, key=lambda r: "{" in r[1])


def test_every_route_has_a_case() -> None:
    """A new SCIM route cannot escape the matrix: each method and path has a case."""
    routes = every_route()
    requests = [case(Values.missing(), "own")[:2] for case, _ in CASES.values()]
    assert sorted(routes - {_route(m, p, routes) for m, p in requests}) == []


@pytest.mark.parametrize(("case", "expected"), list(CASES.values()), ids=list(CASES))
def test_another_tenants_values_are_indistinguishable_from_missing_ones(
    world: World, case: Case, expected: int
) -> None:
    """A's token on B's values gets what missing values get, and B stays unchanged."""
    before = world.b_state()
    missing = Values.missing()
    with_missing = outcome(world.a.call(*case(missing, world.own_group)), missing)
    with_theirs = outcome(world.a.call(*case(world.b_values, world.own_group)), world.b_values)
    assert with_theirs == with_missing
    assert with_theirs[0] == expected, with_theirs
    assert world.b_state() == before


def test_discovery_is_the_same_for_every_tenant(world: World) -> None:
    """/ServiceProviderConfig, /ResourceTypes and /Schemas hold nothing of a tenant."""
    paths = ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]
    assert [world.a.ok("GET", p) for p in paths] == [world.b.ok("GET", p) for p in paths]
