"""Answers of identity_service larger than gRPC's default 4 MiB receive
limit reach the IdP: a page of large users is not a 429."""

import uuid

from fastapi.testclient import TestClient
from identity.v1 import user_pb2, user_service_pb2
from identity.v1.user_service_pb2_grpc import UserServiceStub

from identity_service.service.validation import MAX_STRING_LENGTH, MAX_VALUES_PER_ATTRIBUTE
from tests.helpers import TenantAccess

# Five attributes of 100 values of 2,048 characters: about 1 MiB a user.
_LARGE = ("emails", "phone_numbers", "ims", "roles", "entitlements")


def _large_user() -> user_pb2.User:
    values = [
        user_pb2.MultiValuedAttribute(value=f"{i}-" + "v" * (MAX_STRING_LENGTH - 5))
        for i in range(MAX_VALUES_PER_ATTRIBUTE)
    ]
    fields = dict.fromkeys(_LARGE, values)
    return user_pb2.User(user_name=f"large-{uuid.uuid4().hex[:8]}", **fields)  # type: ignore[arg-type]


def test_a_page_of_users_larger_than_4_mib_is_answered(
    scim: TestClient, users: UserServiceStub, tenant: TenantAccess
) -> None:
    """A ListUsers answer past gRPC's default 4 MiB is still a ListResponse (RFC 7644 §3.4.2)."""
    count = 5
    for _ in range(count):
        request = user_service_pb2.CreateUserRequest(parent=tenant.parent, user=_large_user())
        users.CreateUser(request, metadata=tenant.metadata)
    response = scim.get("/scim/v2/Users", params={"count": count})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["itemsPerPage"] == count
