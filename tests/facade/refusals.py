"""For tests of refused requests: a tenant's data as identity_service holds
it, read over gRPC (every user and group, deleted ones too, and the change
log, serialised), so a test can show that a refused request changed
nothing, byte for byte; and the SCIM routes that take a body."""

import uuid
from collections.abc import Callable
from typing import Any

import grpc
from fastapi.testclient import TestClient
from identity.v1 import (
    change_service_pb2,
    change_service_pb2_grpc,
    group_service_pb2,
    group_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from tests.helpers import TenantAccess

BASE = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def tenant_state(channel: grpc.Channel, tenant: TenantAccess) -> tuple[bytes, ...]:
    """The tenant's users, groups and change records (the first 1,000 of each)."""
    auth = tenant.metadata
    users = user_service_pb2_grpc.UserServiceStub(channel).ListUsers(
        user_service_pb2.ListUsersRequest(parent=tenant.parent, page_size=1000, show_deleted=True),
        metadata=auth,
    )
    groups = group_service_pb2_grpc.GroupServiceStub(channel).ListGroups(
        group_service_pb2.ListGroupsRequest(
            parent=tenant.parent, page_size=1000, show_deleted=True
        ),
        metadata=auth,
    )
    changes = change_service_pb2_grpc.ChangeServiceStub(channel).ListChanges(
        change_service_pb2.ListChangesRequest(parent=tenant.parent, page_size=1000),
        metadata=auth,
    )
    return tuple(
        message.SerializeToString(deterministic=True)
        for message in (*users.users, *groups.groups, *changes.changes)
    )


def created(scim: TestClient, path: str, body: dict[str, Any]) -> str:
    response = scim.post(f"{BASE}{path}", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def user_and_group(scim: TestClient) -> tuple[str, str]:
    """The ids of a new user and a new group of the tenant."""
    return created(scim, "/Users", user()), created(scim, "/Groups", group())


def name() -> str:
    return f"n-{uuid.uuid4().hex[:8]}"


def _replace(attribute: str) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": attribute, "value": "x"}],
    }


def user() -> dict[str, Any]:
    return {"schemas": [USER], "userName": name()}


def group() -> dict[str, Any]:
    return {"schemas": [GROUP], "displayName": name()}


def _search() -> dict[str, Any]:
    return {"schemas": [SEARCH]}


# Route -> (method, path with {u} and {g} for a user's and a group's id,
# a valid body, the status it gets).
Route = tuple[str, str, Callable[[], dict[str, Any]], int]
ROUTES: dict[str, Route] = {
    "POST /Users": ("POST", "/Users", user, 201),
    "PUT /Users": ("PUT", "/Users/{u}", user, 200),
    "PATCH /Users": ("PATCH", "/Users/{u}", lambda: _replace("nickName"), 200),
    "POST /Groups": ("POST", "/Groups", group, 201),
    "PUT /Groups": ("PUT", "/Groups/{g}", group, 200),
    "PATCH /Groups": ("PATCH", "/Groups/{g}", lambda: _replace("displayName"), 204),
    "POST /Users/.search": ("POST", "/Users/.search", _search, 200),
    "POST /Groups/.search": ("POST", "/Groups/.search", _search, 200),
    "POST /.search": ("POST", "/.search", _search, 200),
}
