"""BatchGetUsers (AIP-231): answers in the order asked, all or nothing, at most
1,000 names, every name under the parent."""

import uuid

import pytest
from identity.v1 import user_service_pb2

from tests.helpers import TenantAccess, error_info, field_violations
from tests.users.support import Code, Stub, assert_error, by_name, create_user, fails


def test_batch_get_users_answers_in_the_order_asked(users: Stub, tenant: TenantAccess) -> None:
    """BatchGet returns the users in the order of the request (AIP-231)."""
    alice, bob, carol = (create_user(users, tenant, n) for n in ("alice", "bob", "carol"))
    names = [carol.name, alice.name, bob.name, alice.name]

    response = users.BatchGetUsers(
        user_service_pb2.BatchGetUsersRequest(parent=tenant.parent, names=names),
        metadata=tenant.metadata,
    )

    assert list(response.users) == [carol, alice, bob, alice]


@pytest.mark.parametrize("deleted", [False, True], ids=["missing", "deleted"])
def test_batch_get_users_with_one_user_not_found_is_not_found(
    users: Stub, tenant: TenantAccess, deleted: bool
) -> None:
    """BatchGet is all or nothing: one missing or deleted user makes the
    call NOT_FOUND (AIP-231)."""
    alice = create_user(users, tenant, "alice")
    bob = create_user(users, tenant, "bob")
    if deleted:
        by_name(users, tenant, "DeleteUser", bob.name)
        absent = bob.name
    else:
        absent = f"{tenant.parent}/users/{uuid.uuid4()}"

    error = fails(
        lambda: users.BatchGetUsers(
            user_service_pb2.BatchGetUsersRequest(parent=tenant.parent, names=[alice.name, absent]),
            metadata=tenant.metadata,
        )
    )

    assert_error(error, Code.NOT_FOUND, "NOT_FOUND")


def test_batch_get_users_beyond_a_thousand_names_is_resource_exhausted(
    users: Stub, tenant: TenantAccess
) -> None:
    """At most 1,000 names per call; the limit is in the ErrorInfo metadata."""
    alice = create_user(users, tenant, "alice")

    error = fails(
        lambda: users.BatchGetUsers(
            user_service_pb2.BatchGetUsersRequest(parent=tenant.parent, names=[alice.name] * 1001),
            metadata=tenant.metadata,
        )
    )

    assert_error(error, Code.RESOURCE_EXHAUSTED, "TOO_MANY_ITEMS")
    assert error_info(error).metadata["limit"] == "1000"


def test_batch_get_users_of_a_thousand_names_is_allowed(users: Stub, tenant: TenantAccess) -> None:
    """1,000 names is within the limit."""
    alice = create_user(users, tenant, "alice")

    response = users.BatchGetUsers(
        user_service_pb2.BatchGetUsersRequest(parent=tenant.parent, names=[alice.name] * 1000),
        metadata=tenant.metadata,
    )

    assert len(response.users) == 1000


@pytest.mark.parametrize("parent", ["own", "-"])
def test_batch_get_users_with_a_name_under_another_parent_is_invalid(
    users: Stub, tenant: TenantAccess, other_tenant: TenantAccess, parent: str
) -> None:
    """Every name must be under the parent (AIP-231), "tenants/-" standing for
    the caller's own tenant."""
    alice = create_user(users, tenant, "alice")
    foreign = f"{other_tenant.parent}/users/{alice.id}"
    request = user_service_pb2.BatchGetUsersRequest(
        parent=tenant.parent if parent == "own" else "tenants/-", names=[foreign]
    )

    error = fails(lambda: users.BatchGetUsers(request, metadata=tenant.metadata))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert "names" in field_violations(error)
