"""UpdateUser: update masks (AIP-134, AIP-161), full replacement with "*",
state changes through the mask, and the rules an updated user must satisfy."""

from typing import Any

import pytest

from tests.helpers import TenantAccess
from tests.users.support import (
    ACME_URN,
    Code,
    Enterprise,
    Name,
    State,
    Stub,
    User,
    Value,
    acme_extension,
    assert_error,
    create_user,
    fails,
    get_user,
    update_user,
    writable_part,
)


def test_update_user_replaces_only_the_fields_in_the_mask(
    users: Stub, tenant: TenantAccess
) -> None:
    """Fields outside update_mask keep their values (AIP-134)."""
    created = create_user(users, tenant, "alice", display_name="Alice A", title="Engineer")

    updated = update_user(
        users,
        tenant,
        User(name=created.name, display_name="Alice B", title="ignored", nick_name="ignored"),
        "display_name",
    )

    assert (updated.display_name, updated.title, updated.nick_name) == ("Alice B", "Engineer", "")
    assert updated.update_time.ToDatetime() > created.update_time.ToDatetime()
    assert get_user(users, tenant, created.name) == updated


def test_update_user_with_a_field_in_the_mask_but_not_in_the_user_clears_it(
    users: Stub, tenant: TenantAccess
) -> None:
    """A masked field absent from the message is cleared (AIP-134)."""
    created = create_user(users, tenant, "alice", title="Engineer", emails=[Value(value="a@x.com")])

    updated = update_user(users, tenant, User(name=created.name), "title", "emails")

    assert (updated.title, list(updated.emails)) == ("", [])


@pytest.mark.parametrize(
    ("path", "patch", "field", "expected"),
    [
        (
            "name_parts.given_name",
            User(name_parts=Name(given_name="Al", family_name="ignored")),
            "name_parts",
            Name(given_name="Al", family_name="Smith", formatted="Alice Smith"),
        ),
        (
            "enterprise.department",
            User(enterprise=Enterprise(department="Sales", cost_center="ignored")),
            "enterprise",
            Enterprise(
                department="Sales",
                cost_center="4130",
                manager=Enterprise.Manager(value="boss-id", display_name="Boss"),
            ),
        ),
        (
            "enterprise.manager",
            User(enterprise=Enterprise(manager=Enterprise.Manager(value="new-boss"))),
            "enterprise",
            Enterprise(
                department="Engineering",
                cost_center="4130",
                manager=Enterprise.Manager(value="new-boss"),
            ),
        ),
    ],
)
def test_update_user_with_a_nested_path_replaces_only_that_sub_field(
    users: Stub, tenant: TenantAccess, path: str, patch: User, field: str, expected: Any
) -> None:
    """A dotted mask path replaces one sub-field and keeps its siblings (AIP-161)."""
    created = create_user(
        users,
        tenant,
        "alice",
        name_parts=Name(given_name="Alice", family_name="Smith", formatted="Alice Smith"),
        enterprise=Enterprise(
            department="Engineering",
            cost_center="4130",
            manager=Enterprise.Manager(value="boss-id", display_name="Boss"),
        ),
    )
    patch.name = created.name

    updated = update_user(users, tenant, patch, path)

    assert getattr(updated, field) == expected
    assert get_user(users, tenant, created.name) == updated


def test_update_user_with_a_star_mask_replaces_every_writable_field(
    users: Stub, tenant: TenantAccess
) -> None:
    """update_mask "*" is a full replacement: fields not given are cleared
    (AIP-134)."""
    created = create_user(
        users,
        tenant,
        "alice",
        external_id="ext-1",
        display_name="Alice",
        title="Engineer",
        emails=[Value(value="alice@example.com", primary=True)],
        enterprise=Enterprise(department="Engineering"),
        extensions={ACME_URN: acme_extension()},
    )

    updated = update_user(
        users, tenant, User(name=created.name, user_name="alice2", nick_name="Al"), "*"
    )

    assert writable_part(updated) == User(user_name="alice2", nick_name="Al")
    assert (updated.id, updated.state) == (created.id, User.ACTIVE)
    assert get_user(users, tenant, created.name) == updated


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (User.STATE_UNSPECIFIED, User.DEACTIVATED),
        (User.DEACTIVATED, User.DEACTIVATED),
        (User.ACTIVE, User.ACTIVE),
    ],
    ids=["state-not-given-keeps-it", "deactivated", "active"],
)
def test_update_user_with_a_star_mask_changes_the_state_only_when_given(
    users: Stub, tenant: TenantAccess, sent: State, expected: State
) -> None:
    """STATE_UNSPECIFIED is never stored: a full replacement that does not
    name a state leaves a deactivated user deactivated."""
    created = create_user(users, tenant, "alice", state=User.DEACTIVATED)

    updated = update_user(
        users, tenant, User(name=created.name, user_name="alice", state=sent), "*"
    )

    assert updated.state == expected
    assert updated.HasField("deactivate_time") == (expected == User.DEACTIVATED)


def test_update_user_with_state_in_the_mask_deactivates_and_reactivates(
    users: Stub, tenant: TenantAccess
) -> None:
    """ "state" in the mask moves between ACTIVE and DEACTIVATED (SCIM
    active), setting and clearing deactivate_time."""
    created = create_user(users, tenant, "alice", title="Engineer")

    deactivated = update_user(
        users, tenant, User(name=created.name, state=User.DEACTIVATED), "state"
    )
    reactivated = update_user(users, tenant, User(name=created.name, state=User.ACTIVE), "state")

    assert (deactivated.state, deactivated.HasField("deactivate_time")) == (User.DEACTIVATED, True)
    assert (reactivated.state, reactivated.HasField("deactivate_time")) == (User.ACTIVE, False)
    assert reactivated.title == "Engineer"


@pytest.mark.parametrize(
    "path",
    [
        "no_such_field",
        "userName",
        "name_parts.no_such_field",
        "emails.value",
        "title.length",
        "id",
        "name",
        "etag",
        "create_time",
        "update_time",
        "deactivate_time",
        "delete_time",
    ],
)
def test_update_user_with_an_unknown_or_output_only_mask_path_is_invalid(
    users: Stub, tenant: TenantAccess, path: str
) -> None:
    """The mask names only writable fields (AIP-134); nothing changes."""
    created = create_user(users, tenant, "alice", title="Engineer")

    error = fails(
        lambda: update_user(users, tenant, User(name=created.name, title="Boss"), "title", path)
    )

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_UPDATE_MASK")
    assert get_user(users, tenant, created.name) == created


def test_update_user_with_an_empty_mask_is_invalid(users: Stub, tenant: TenantAccess) -> None:
    """update_mask is required; "*" asks for a full replacement."""
    created = create_user(users, tenant, "alice", title="Engineer")

    error = fails(lambda: update_user(users, tenant, User(name=created.name, title="Boss")))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_UPDATE_MASK")
    assert get_user(users, tenant, created.name) == created


def test_update_user_to_an_invalid_value_is_invalid_argument(
    users: Stub, tenant: TenantAccess
) -> None:
    """The updated user must satisfy the same rules as a new one."""
    created = create_user(users, tenant, "alice")

    error = fails(lambda: update_user(users, tenant, User(name=created.name), "user_name"))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert get_user(users, tenant, created.name) == created
