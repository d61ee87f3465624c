"""Which user a resource name reaches: malformed names (AIP-122), missing and
deleted users (NOT_FOUND), other tenants, and "tenants/-" (AIP-159)."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import field_mask_pb2
from identity.v1 import user_service_pb2

from tests.helpers import TenantAccess, field_violations
from tests.users.support import (
    BY_NAME_METHODS,
    Code,
    Stub,
    User,
    assert_error,
    by_name,
    create_user,
    fails,
    get_user,
    list_users,
    update_user,
)


@pytest.mark.parametrize(
    ("method", "request_message", "field"),
    [
        ("GetUser", user_service_pb2.GetUserRequest(name=""), "name"),
        ("GetUser", user_service_pb2.GetUserRequest(name="users/abc"), "name"),
        ("GetUser", user_service_pb2.GetUserRequest(name="tenants/-/groups/abc"), "name"),
        ("GetUser", user_service_pb2.GetUserRequest(name="tenants/-/users/a/b"), "name"),
        ("ListUsers", user_service_pb2.ListUsersRequest(parent="tenants"), "parent"),
        ("ListUsers", user_service_pb2.ListUsersRequest(parent="tenants/-/users"), "parent"),
        (
            "CreateUser",
            user_service_pb2.CreateUserRequest(parent="", user=User(user_name="alice")),
            "parent",
        ),
        (
            "BatchGetUsers",
            user_service_pb2.BatchGetUsersRequest(parent="tenants/-", names=["abc"]),
            "names",
        ),
        (
            "UpdateUser",
            user_service_pb2.UpdateUserRequest(
                user=User(name="abc", display_name="x"),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            ),
            "user.name",
        ),
        *[
            (m, getattr(user_service_pb2, f"{m}Request")(name="x/y"), "name")
            for m in BY_NAME_METHODS
        ],
    ],
)
def test_a_malformed_resource_name_is_invalid_argument(
    users: Stub, tenant: TenantAccess, method: str, request_message: Any, field: str
) -> None:
    """A name or parent that does not match its pattern (AIP-122) is
    INVALID_ARGUMENT naming the field."""
    error = fails(lambda: getattr(users, method)(request_message, metadata=tenant.metadata))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert field in field_violations(error)


def test_get_user_in_another_tenant_is_not_found(
    users: Stub, tenant: TenantAccess, other_tenant: TenantAccess
) -> None:
    """A user of another tenant is indistinguishable from a missing one."""
    created = create_user(users, tenant, "bjensen")

    error = fails(lambda: get_user(users, other_tenant, created.name))

    assert_error(error, Code.NOT_FOUND, "NOT_FOUND")


@pytest.mark.parametrize("method", ["GetUser", "UpdateUser", *BY_NAME_METHODS])
def test_every_method_on_a_missing_user_is_not_found(
    users: Stub, tenant: TenantAccess, method: str
) -> None:
    """A user that never existed is NOT_FOUND."""
    name = f"{tenant.parent}/users/{uuid.uuid4()}"
    calls: dict[str, Callable[[], object]] = {
        "GetUser": lambda: get_user(users, tenant, name),
        "UpdateUser": lambda: update_user(users, tenant, User(name=name, title="x"), "title"),
    }
    call = calls.get(method, lambda: by_name(users, tenant, method, name))

    assert_error(fails(call), Code.NOT_FOUND, "NOT_FOUND")


@pytest.mark.parametrize(
    "method", ["GetUser", "UpdateUser", "DeleteUser", "DeactivateUser", "ReactivateUser"]
)
def test_every_method_but_undelete_on_a_deleted_user_is_not_found(
    users: Stub, tenant: TenantAccess, method: str
) -> None:
    """A soft-deleted user is NOT_FOUND to every method but UndeleteUser and
    Get with show_deleted (AIP-164)."""
    created = create_user(users, tenant, "alice")
    deleted = by_name(users, tenant, "DeleteUser", created.name)
    calls: dict[str, Callable[[], object]] = {
        "GetUser": lambda: get_user(users, tenant, created.name),
        "UpdateUser": lambda: update_user(
            users, tenant, User(name=created.name, title="x"), "title"
        ),
    }
    call = calls.get(method, lambda: by_name(users, tenant, method, created.name))

    assert_error(fails(call), Code.NOT_FOUND, "NOT_FOUND")
    assert get_user(users, tenant, created.name, show_deleted=True) == deleted


def test_the_own_tenant_wildcard_reads_and_creates_under_the_real_slug(
    users: Stub, tenant: TenantAccess
) -> None:
    """A tenant credential may write "tenants/-"; answers carry the real slug."""
    created = users.CreateUser(
        user_service_pb2.CreateUserRequest(parent="tenants/-", user=User(user_name="alice")),
        metadata=tenant.metadata,
    )
    wildcard_name = f"tenants/-/users/{created.id}"

    got = get_user(users, tenant, wildcard_name)
    listed = users.ListUsers(
        user_service_pb2.ListUsersRequest(parent="tenants/-"), metadata=tenant.metadata
    )
    batch = users.BatchGetUsers(
        user_service_pb2.BatchGetUsersRequest(parent="tenants/-", names=[wildcard_name]),
        metadata=tenant.metadata,
    )

    assert created.name == f"{tenant.parent}/users/{created.id}"
    assert got == created
    assert list(listed.users) == [created]
    assert list(batch.users) == [created]


@pytest.mark.parametrize("method", ["UpdateUser", "DeactivateUser", "DeleteUser"])
def test_the_own_tenant_wildcard_works_in_names_of_changes(
    users: Stub, tenant: TenantAccess, method: str
) -> None:
    """Update and the state changes accept "tenants/-/users/{id}" too and
    answer with the real slug."""
    created = create_user(users, tenant, "alice")
    wildcard_name = f"tenants/-/users/{created.id}"

    if method == "UpdateUser":
        changed = update_user(users, tenant, User(name=wildcard_name, title="Lead"), "title")
    else:
        changed = by_name(users, tenant, method, wildcard_name)

    assert changed.name == created.name
    assert changed.etag != created.etag


@pytest.mark.parametrize("method", ["ListUsers", "CreateUser"])
def test_another_tenants_parent_is_not_found(
    users: Stub, tenant: TenantAccess, other_tenant: TenantAccess, method: str
) -> None:
    """A tenant credential reaches only its own tenant; another is NOT_FOUND."""
    requests: dict[str, Any] = {
        "ListUsers": user_service_pb2.ListUsersRequest(parent=other_tenant.parent),
        "CreateUser": user_service_pb2.CreateUserRequest(
            parent=other_tenant.parent, user=User(user_name="intruder")
        ),
    }

    error = fails(lambda: getattr(users, method)(requests[method], metadata=tenant.metadata))

    assert_error(error, Code.NOT_FOUND, "NOT_FOUND")
    assert list_users(users, other_tenant).total_size == 0
