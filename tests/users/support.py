"""Calling identity.v1.UserService in tests: one-line wrappers around each
RPC, the error assertion (AIP-193), and the constants and helpers several
test modules share."""

from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from tests.helpers import TenantAccess, error_info

Stub = user_service_pb2_grpc.UserServiceStub
User = user_pb2.User
Name = user_pb2.Name
Value = user_pb2.MultiValuedAttribute
Enterprise = user_pb2.EnterpriseUser
Code = grpc.StatusCode
State: TypeAlias = user_pb2.User.State.ValueType

DOMAIN = "roster.identity.v1"
ACME_URN = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
OUTPUT_ONLY = (
    "name",
    "id",
    "etag",
    "create_time",
    "update_time",
    "deactivate_time",
    "delete_time",
)
BY_NAME_METHODS = ("DeleteUser", "UndeleteUser", "DeactivateUser", "ReactivateUser")


def create_user(users: Stub, tenant: TenantAccess, user_name: str, **fields: Any) -> User:
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=User(user_name=user_name, **fields)
    )
    return users.CreateUser(request, metadata=tenant.metadata)


def get_user(users: Stub, tenant: TenantAccess, name: str, *, show_deleted: bool = False) -> User:
    request = user_service_pb2.GetUserRequest(name=name, show_deleted=show_deleted)
    return users.GetUser(request, metadata=tenant.metadata)


def list_users(
    users: Stub, tenant: TenantAccess, **query: Any
) -> user_service_pb2.ListUsersResponse:
    request = user_service_pb2.ListUsersRequest(parent=tenant.parent, **query)
    return users.ListUsers(request, metadata=tenant.metadata)


def update_user(users: Stub, tenant: TenantAccess, user: User, *paths: str, **extra: Any) -> User:
    request = user_service_pb2.UpdateUserRequest(
        user=user, update_mask=field_mask_pb2.FieldMask(paths=list(paths)), **extra
    )
    return users.UpdateUser(request, metadata=tenant.metadata)


def by_name(users: Stub, tenant: TenantAccess, method: str, name: str, **extra: Any) -> User:
    """Call DeleteUser, UndeleteUser, DeactivateUser or ReactivateUser."""
    request = getattr(user_service_pb2, f"{method}Request")(name=name, **extra)
    result: User = getattr(users, method)(request, metadata=tenant.metadata)
    return result


def fails(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def assert_error(error: grpc.RpcError, code: grpc.StatusCode, reason: str) -> None:
    assert error.code() == code, error.details()
    info = error_info(error)
    assert (info.domain, info.reason) == (DOMAIN, reason)


def user_names(response: user_service_pb2.ListUsersResponse) -> list[str]:
    return [u.user_name for u in response.users]


def writable_part(user: User) -> User:
    """The user without its output-only fields and state."""
    copy = User()
    copy.CopyFrom(user)
    for field in (*OUTPUT_ONLY, "state"):
        copy.ClearField(field)  # type: ignore[arg-type]
    return copy


def acme_extension() -> struct_pb2.Struct:
    extension = struct_pb2.Struct()
    extension.update(
        {
            "badge": "A-17",
            "floor": 3,
            "remote": True,
            "contractor": False,
            "tags": ["x", "y"],
            "desk": {"building": "B2", "seat": 14},
        }
    )
    return extension
