"""request_id on UserService (AIP-155): a replay returns the first answer, a
reused id for another request is refused, and ids are remembered per tenant."""

import uuid

from identity.v1 import user_service_pb2

from tests.helpers import TenantAccess
from tests.users.support import (
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


def test_a_replayed_create_user_returns_the_first_answer(users: Stub, tenant: TenantAccess) -> None:
    """The same request_id and request returns the first answer and creates
    nothing more (AIP-155)."""
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=User(user_name="alice"), request_id=str(uuid.uuid4())
    )

    first = users.CreateUser(request, metadata=tenant.metadata)
    second = users.CreateUser(request, metadata=tenant.metadata)

    assert second == first
    assert [u.id for u in list_users(users, tenant).users] == [first.id]


def test_a_request_id_used_for_another_request_is_invalid(
    users: Stub, tenant: TenantAccess
) -> None:
    """Reusing a request_id for a different request is REQUEST_ID_REUSED
    (AIP-155), and the second request has no effect."""
    request_id = str(uuid.uuid4())
    first = users.CreateUser(
        user_service_pb2.CreateUserRequest(
            parent=tenant.parent, user=User(user_name="alice"), request_id=request_id
        ),
        metadata=tenant.metadata,
    )

    error = fails(
        lambda: users.CreateUser(
            user_service_pb2.CreateUserRequest(
                parent=tenant.parent, user=User(user_name="bob"), request_id=request_id
            ),
            metadata=tenant.metadata,
        )
    )

    assert_error(error, Code.INVALID_ARGUMENT, "REQUEST_ID_REUSED")
    assert [u.id for u in list_users(users, tenant).users] == [first.id]


def test_a_request_id_used_for_another_method_is_invalid(users: Stub, tenant: TenantAccess) -> None:
    """A request_id names one request, whatever the method (AIP-155)."""
    request_id = str(uuid.uuid4())
    created = users.CreateUser(
        user_service_pb2.CreateUserRequest(
            parent=tenant.parent, user=User(user_name="alice"), request_id=request_id
        ),
        metadata=tenant.metadata,
    )

    error = fails(
        lambda: by_name(users, tenant, "DeactivateUser", created.name, request_id=request_id)
    )

    assert_error(error, Code.INVALID_ARGUMENT, "REQUEST_ID_REUSED")
    assert get_user(users, tenant, created.name).state == User.ACTIVE


def test_a_replayed_deactivate_user_returns_the_first_answer_and_changes_nothing(
    users: Stub, tenant: TenantAccess
) -> None:
    """A replay returns the recorded answer even when the user changed
    since, and does not apply the change again (AIP-155)."""
    created = create_user(users, tenant, "alice")
    request_id = str(uuid.uuid4())
    first = by_name(users, tenant, "DeactivateUser", created.name, request_id=request_id)
    reactivated = by_name(users, tenant, "ReactivateUser", created.name)

    replay = by_name(users, tenant, "DeactivateUser", created.name, request_id=request_id)

    assert replay == first
    assert get_user(users, tenant, created.name) == reactivated


def test_a_replayed_update_user_returns_the_first_answer(users: Stub, tenant: TenantAccess) -> None:
    """UpdateUser takes a request_id as well (AIP-155)."""
    created = create_user(users, tenant, "alice")
    request_id = str(uuid.uuid4())
    patch = User(name=created.name, title="Lead")
    first = update_user(users, tenant, patch, "title", request_id=request_id)
    later = update_user(users, tenant, User(name=created.name, title="Boss"), "title")

    replay = update_user(users, tenant, patch, "title", request_id=request_id)

    assert replay == first
    assert get_user(users, tenant, created.name) == later


def test_a_replayed_delete_user_returns_the_first_answer_not_not_found(
    users: Stub, tenant: TenantAccess
) -> None:
    """A retried DeleteUser whose first answer was lost gets that answer,
    although the user is deleted by now (AIP-155)."""
    created = create_user(users, tenant, "alice")
    request_id = str(uuid.uuid4())
    first = by_name(users, tenant, "DeleteUser", created.name, request_id=request_id)

    replay = by_name(users, tenant, "DeleteUser", created.name, request_id=request_id)

    assert replay == first
    assert get_user(users, tenant, created.name, show_deleted=True) == first


def test_request_ids_of_two_tenants_do_not_meet(
    users: Stub, tenant: TenantAccess, other_tenant: TenantAccess
) -> None:
    """A request_id is remembered per tenant: another tenant's request with
    the same id is a new request, not a replay of someone else's answer."""
    request_id = str(uuid.uuid4())
    request = user_service_pb2.CreateUserRequest(
        parent="tenants/-", user=User(user_name="alice"), request_id=request_id
    )

    mine = users.CreateUser(request, metadata=tenant.metadata)
    theirs = users.CreateUser(request, metadata=other_tenant.metadata)

    assert mine.id != theirs.id
    assert theirs.name.startswith(f"{other_tenant.parent}/")
