"""The user's states: soft delete and undelete (AIP-164), deactivate and
reactivate (SCIM active)."""

import pytest
from identity.v1 import user_service_pb2

from tests.helpers import TenantAccess
from tests.users.support import (
    Code,
    State,
    Stub,
    User,
    assert_error,
    by_name,
    create_user,
    fails,
    get_user,
    list_users,
    user_names,
    writable_part,
)


def test_delete_user_hides_the_user_but_keeps_a_tombstone(
    users: Stub, tenant: TenantAccess
) -> None:
    """A deleted user is NOT_FOUND, yet Get with show_deleted answers it with
    state DELETED and its delete_time (AIP-164)."""
    created = create_user(users, tenant, "alice")

    deleted = by_name(users, tenant, "DeleteUser", created.name)

    assert (deleted.state, deleted.HasField("delete_time")) == (User.DELETED, True)
    assert_error(fails(lambda: get_user(users, tenant, created.name)), Code.NOT_FOUND, "NOT_FOUND")
    assert get_user(users, tenant, created.name, show_deleted=True) == deleted


def test_delete_user_frees_the_user_name_and_external_id(users: Stub, tenant: TenantAccess) -> None:
    """After delete, a new user may take the userName and externalId."""
    first = create_user(users, tenant, "alice", external_id="ext-1")
    by_name(users, tenant, "DeleteUser", first.name)

    second = create_user(users, tenant, "Alice", external_id="ext-1")

    assert second.id != first.id
    assert get_user(users, tenant, second.name).user_name == "Alice"


def test_list_users_hides_deleted_users_unless_show_deleted(
    users: Stub, tenant: TenantAccess
) -> None:
    """ListUsers leaves out tombstones unless show_deleted (AIP-164)."""
    alice = create_user(users, tenant, "alice")
    bob = create_user(users, tenant, "bob")
    by_name(users, tenant, "DeleteUser", bob.name)

    live = list_users(users, tenant)
    everyone = list_users(users, tenant, show_deleted=True, order_by="user_name")

    assert ([u.id for u in live.users], live.total_size) == ([alice.id], 1)
    assert [(u.user_name, u.state) for u in everyone.users] == [
        ("alice", User.ACTIVE),
        ("bob", User.DELETED),
    ]
    assert everyone.total_size == 2


@pytest.mark.parametrize("state", [User.ACTIVE, User.DEACTIVATED], ids=["active", "deactivated"])
def test_undelete_user_restores_the_former_state(
    users: Stub, tenant: TenantAccess, state: State
) -> None:
    """Undelete brings a user back ACTIVE or DEACTIVATED, as it was (AIP-164)."""
    created = create_user(users, tenant, "alice", state=state, title="Engineer")
    by_name(users, tenant, "DeleteUser", created.name)

    restored = by_name(users, tenant, "UndeleteUser", created.name)

    assert (restored.state, restored.HasField("delete_time")) == (state, False)
    assert restored.deactivate_time == created.deactivate_time
    assert writable_part(restored) == writable_part(created)
    assert get_user(users, tenant, created.name) == restored


@pytest.mark.parametrize(
    "taken_by",
    [User(user_name="ALICE"), User(user_name="bob", external_id="ext-1")],
    ids=["user-name", "external-id"],
)
def test_undelete_user_whose_identity_was_taken_meanwhile_is_a_conflict(
    users: Stub, tenant: TenantAccess, taken_by: User
) -> None:
    """Undelete may not make a second live user with a taken userName or
    externalId (FAILED_PRECONDITION UNDELETE_CONFLICT)."""
    created = create_user(users, tenant, "alice", external_id="ext-1")
    deleted = by_name(users, tenant, "DeleteUser", created.name)
    users.CreateUser(
        user_service_pb2.CreateUserRequest(parent=tenant.parent, user=taken_by),
        metadata=tenant.metadata,
    )

    error = fails(lambda: by_name(users, tenant, "UndeleteUser", created.name))

    assert_error(error, Code.FAILED_PRECONDITION, "UNDELETE_CONFLICT")
    assert get_user(users, tenant, created.name, show_deleted=True) == deleted


def test_undelete_user_of_a_live_user_is_a_failed_precondition(
    users: Stub, tenant: TenantAccess
) -> None:
    """Only a deleted user can be undeleted (INVALID_STATE)."""
    created = create_user(users, tenant, "alice")

    error = fails(lambda: by_name(users, tenant, "UndeleteUser", created.name))

    assert_error(error, Code.FAILED_PRECONDITION, "INVALID_STATE")
    assert get_user(users, tenant, created.name) == created


def test_deactivate_and_reactivate_user_set_and_clear_the_deactivate_time(
    users: Stub, tenant: TenantAccess
) -> None:
    """Deactivation is reversible and keeps the user visible (SCIM
    active=false)."""
    created = create_user(users, tenant, "alice", title="Engineer")

    deactivated = by_name(users, tenant, "DeactivateUser", created.name)
    visible = get_user(users, tenant, created.name)
    reactivated = by_name(users, tenant, "ReactivateUser", created.name)

    assert (deactivated.state, deactivated.HasField("deactivate_time")) == (User.DEACTIVATED, True)
    assert visible == deactivated
    assert (reactivated.state, reactivated.HasField("deactivate_time")) == (User.ACTIVE, False)
    assert writable_part(reactivated) == writable_part(created)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("active eq false", ["bob", "carol"]), ("active eq true", ["alice", "dave"])],
)
def test_the_active_filter_tells_deactivated_users_apart(
    users: Stub, tenant: TenantAccess, expression: str, expected: list[str]
) -> None:
    """SCIM active=false is the DEACTIVATED state (RFC 7643 §4.1.1)."""
    for user_name in ("alice", "bob", "carol", "dave"):
        created = create_user(users, tenant, user_name)
        if user_name in ("bob", "carol"):
            by_name(users, tenant, "DeactivateUser", created.name)

    response = list_users(users, tenant, filter=expression, order_by="user_name")

    assert user_names(response) == expected
