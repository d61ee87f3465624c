"""The scope matrix at the SCIM facade: every route, called with a tenant
credential of each scope. The facade forwards the token and identity_service
decides (DESIGN.md "Credentials"): reads need "read" or "scim", changes
"write" or "scim"; a refusal is 403 with a SCIM error body (RFC 7644 §3.12)
and changes nothing. Discovery needs no credential (RFC 7643 §5), /Me is 501
for everyone (RFC 7644 §3.11)."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from identity.v1 import change_service_pb2_grpc

from identity_service.store.engine import Database
from tests.facade.isolation import CORE_GROUP, CORE_USER, PATCH_OP, Tenant, every_route, snapshot
from tests.helpers import TenantAccess, bearer, new_credential

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
DEACTIVATE = {
    "schemas": [PATCH_OP],
    "Operations": [{"op": "replace", "path": "active", "value": False}],
}
SEARCH = {"schemas": [SEARCH_REQUEST], "filter": 'userName eq "bjensen"'}


def _bulk_create(user_name: str) -> dict[str, Any]:
    data = {"schemas": [CORE_USER], "userName": user_name}
    operation = {"method": "POST", "path": "/Users", "bulkId": "u", "data": data}
    return {"schemas": [BULK_REQUEST], "Operations": [operation]}


def _me(method: str, path: str) -> "Build":
    return lambda user, group: (method, path, None)


# A route's request on the tenant's own user and group: method, path, body.
Request = tuple[str, str, object]
Build = Callable[[str, str], Request]
# (route, what it needs: "read", "write", "none" (no credential) or "me")
ROUTES: dict[tuple[str, str], tuple[Build, str]] = {
    ("GET", "/Users"): (lambda u, g: ("GET", "/Users", None), "read"),
    ("POST", "/Users/.search"): (lambda u, g: ("POST", "/Users/.search", SEARCH), "read"),
    ("GET", "/Users/{user_id}"): (lambda u, g: ("GET", f"/Users/{u}", None), "read"),
    ("POST", "/Users"): (
        lambda u, g: ("POST", "/Users", {"schemas": [CORE_USER], "userName": "new"}),
        "write",
    ),
    ("PUT", "/Users/{user_id}"): (
        lambda u, g: ("PUT", f"/Users/{u}", {"schemas": [CORE_USER], "userName": "renamed"}),
        "write",
    ),
    ("PATCH", "/Users/{user_id}"): (lambda u, g: ("PATCH", f"/Users/{u}", DEACTIVATE), "write"),
    ("DELETE", "/Users/{user_id}"): (lambda u, g: ("DELETE", f"/Users/{u}", None), "write"),
    ("GET", "/Groups"): (lambda u, g: ("GET", "/Groups", None), "read"),
    ("POST", "/Groups/.search"): (
        lambda u, g: ("POST", "/Groups/.search", SEARCH | {"filter": ""}),
        "read",
    ),
    ("GET", "/Groups/{group_id}"): (lambda u, g: ("GET", f"/Groups/{g}", None), "read"),
    ("POST", "/Groups"): (
        lambda u, g: ("POST", "/Groups", {"schemas": [CORE_GROUP], "displayName": "new"}),
        "write",
    ),
    ("PUT", "/Groups/{group_id}"): (
        lambda u, g: ("PUT", f"/Groups/{g}", {"schemas": [CORE_GROUP], "displayName": "re"}),
        "write",
    ),
    ("PATCH", "/Groups/{group_id}"): (
        lambda u, g: (
            "PATCH",
            f"/Groups/{g}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": u}]}],
            },
        ),
        "write",
    ),
    ("DELETE", "/Groups/{group_id}"): (lambda u, g: ("DELETE", f"/Groups/{g}", None), "write"),
    ("POST", "/.search"): (lambda u, g: ("POST", "/.search", SEARCH), "read"),
    ("POST", "/Bulk"): (lambda u, g: ("POST", "/Bulk", _bulk_create("bulk")), "write"),
    ("GET", "/ServiceProviderConfig"): (
        lambda u, g: ("GET", "/ServiceProviderConfig", None),
        "none",
    ),
    ("GET", "/ServiceProviderConfigs"): (
        lambda u, g: ("GET", "/ServiceProviderConfigs", None),
        "none",
    ),
    ("GET", "/ResourceTypes"): (lambda u, g: ("GET", "/ResourceTypes", None), "none"),
    ("GET", "/ResourceTypes/{type_id}"): (
        lambda u, g: ("GET", "/ResourceTypes/User", None),
        "none",
    ),
    ("GET", "/Schemas"): (lambda u, g: ("GET", "/Schemas", None), "none"),
    ("GET", "/Schemas/{schema_id}"): (lambda u, g: ("GET", f"/Schemas/{CORE_USER}", None), "none"),
    **{
        (method, route): (_me(method, path), "me")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        for route, path in (("/Me", "/Me"), ("/Me/{rest:path}", "/Me/Groups"))
    },
}
GRANTS = {"read": {"read"}, "write": {"write"}, "scim": {"read", "write"}, "watch": set()}
GRANTS["admin"] = set()


def test_every_route_is_in_the_scope_matrix() -> None:
    """A new SCIM route cannot escape the matrix."""
    assert sorted(every_route()) == sorted(ROUTES)


def _status(response_status: int, body: Any) -> int:
    """The status of a /Bulk answer's one operation, else of the answer."""
    if isinstance(body, dict) and "Operations" in body:
        return int(body["Operations"][0]["status"])
    return response_status


@pytest.mark.parametrize("scope", sorted(GRANTS))
@pytest.mark.parametrize("route", sorted(ROUTES), ids=[" ".join(r) for r in sorted(ROUTES)])
def test_a_token_may_do_at_the_facade_only_what_its_scope_allows(
    db: Database,
    facade: TestClient,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
    route: tuple[str, str],
    scope: str,
) -> None:
    """Allowed, or 403 with a SCIM error body, and the tenant's data and log unchanged."""
    owner = Tenant(facade, tenant.secret)
    user = owner.ok("POST", "/Users", {"schemas": [CORE_USER], "userName": "bjensen"})["id"]
    group = owner.ok("POST", "/Groups", {"schemas": [CORE_GROUP], "displayName": "G"})["id"]
    watcher = bearer(new_credential(db, tenant.slug, ("watch",)))
    caller = Tenant(facade, new_credential(db, tenant.slug, (scope,)))
    build, needs = ROUTES[route]
    before = snapshot(owner, change_stub, tenant.parent, watcher)
    response = caller.call(*build(user, group))
    body: Any = response.json() if response.content else None
    status = _status(response.status_code, body)
    if needs == "me":
        assert status == 501
    elif needs == "none" or needs in GRANTS[scope]:
        assert status < 300, response.text
    else:
        refusal = body["Operations"][0]["response"] if route == ("POST", "/Bulk") else body
        assert (status, refusal["schemas"], refusal["status"]) == (403, [ERROR], "403")
        assert snapshot(owner, change_stub, tenant.parent, watcher) == before
