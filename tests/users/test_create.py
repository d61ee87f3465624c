"""CreateUser and GetUser: every kind of attribute kept (RFC 7643 §4.1, §4.3),
what the server assigns, and the field rules a new user must satisfy (AIP-193)."""

import uuid

import pytest
from google.protobuf import struct_pb2, timestamp_pb2
from identity.v1 import user_pb2, user_service_pb2

from tests.helpers import TenantAccess, field_violations
from tests.users.support import (
    ACME_URN,
    Code,
    Enterprise,
    Name,
    Stub,
    User,
    Value,
    acme_extension,
    assert_error,
    create_user,
    fails,
    get_user,
    list_users,
    writable_part,
)


def _full_user(user_name: str, manager: User) -> User:
    """A user with every kind of attribute set (RFC 7643 §4.1, §4.3)."""
    return User(
        user_name=user_name,
        external_id="okta-00u1",
        name_parts=Name(
            formatted="Ms. Barbara J Jensen, III",
            family_name="Jensen",
            given_name="Barbara",
            middle_name="Jane",
            honorific_prefix="Ms.",
            honorific_suffix="III",
        ),
        display_name="Babs Jensen",
        nick_name="Babs",
        profile_url="https://login.example.com/bjensen",
        title="Tour Guide",
        user_type="Employee",
        preferred_language="en-US",
        locale="en-US",
        timezone="America/Los_Angeles",
        emails=[
            Value(value="bjensen@example.com", type="work", primary=True),
            Value(value="babs@jensen.org", type="home", display="Home"),
        ],
        phone_numbers=[Value(value="tel:+1-201-555-0123", type="work", primary=True)],
        ims=[Value(value="someaimhandle", type="aim")],
        photos=[
            Value(value="https://photos.example.com/profilephoto/72930000000Ccne/F", type="photo")
        ],
        addresses=[
            user_pb2.Address(
                formatted="100 Universal City Plaza\nHollywood, CA 91608 USA",
                street_address="100 Universal City Plaza",
                locality="Hollywood",
                region="CA",
                postal_code="91608",
                country="USA",
                type="work",
                primary=True,
            )
        ],
        entitlements=[Value(value="payroll-read")],
        roles=[Value(value="guide", display="Guide", primary=True)],
        x509_certificates=[
            Value(value="MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMC")
        ],
        enterprise=Enterprise(
            employee_number="701984",
            cost_center="4130",
            organization="Universal Studios",
            division="Theme Park",
            department="Tour Operations",
            manager=Enterprise.Manager(
                value=manager.id, user=manager.name, display_name=manager.display_name
            ),
        ),
        extensions={ACME_URN: acme_extension()},
    )


def test_create_user_keeps_every_kind_of_attribute(users: Stub, tenant: TenantAccess) -> None:
    """Every core (RFC 7643 §4.1), enterprise (§4.3, manager included) and
    extension attribute comes back from Create and Get as it was sent."""
    manager = create_user(users, tenant, "jsmith", display_name="John Smith")
    sent = _full_user("bjensen", manager)

    created = users.CreateUser(
        user_service_pb2.CreateUserRequest(parent=tenant.parent, user=sent),
        metadata=tenant.metadata,
    )

    assert writable_part(created) == sent
    assert get_user(users, tenant, created.name) == created


def test_create_user_assigns_the_name_id_times_etag_and_active_state(
    users: Stub, tenant: TenantAccess
) -> None:
    """The server sets id (a UUID), name tenants/{tenant}/users/{id}, equal
    create and update times, a weak etag (AIP-154), and ACTIVE by default."""
    created = create_user(users, tenant, "bjensen")

    assert str(uuid.UUID(created.id)) == created.id
    assert created.name == f"{tenant.parent}/users/{created.id}"
    assert created.HasField("create_time")
    assert created.update_time == created.create_time
    assert created.etag.startswith('W/"')
    assert created.state == User.ACTIVE
    assert not created.HasField("deactivate_time")
    assert not created.HasField("delete_time")


def test_create_user_ignores_output_only_fields(users: Stub, tenant: TenantAccess) -> None:
    """Output-only fields in the request are ignored, not stored (AIP-203)."""
    long_ago = timestamp_pb2.Timestamp(seconds=86_400)
    created = create_user(
        users,
        tenant,
        "bjensen",
        name="tenants/elsewhere/users/chosen",
        id="chosen",
        etag='W/"99"',
        create_time=long_ago,
        update_time=long_ago,
        deactivate_time=long_ago,
        delete_time=long_ago,
    )

    assert created.id != "chosen"
    assert created.name == f"{tenant.parent}/users/{created.id}"
    assert created.etag != 'W/"99"'
    assert created.create_time != long_ago
    assert created.update_time != long_ago
    assert not created.HasField("deactivate_time")
    assert not created.HasField("delete_time")
    assert get_user(users, tenant, created.name) == created


def test_create_user_in_state_deactivated_starts_deactivated(
    users: Stub, tenant: TenantAccess
) -> None:
    """state DEACTIVATED on create gives a deactivated user with its
    deactivate_time (SCIM active=false on POST)."""
    created = create_user(users, tenant, "bjensen", state=User.DEACTIVATED)

    assert created.state == User.DEACTIVATED
    assert created.deactivate_time == created.create_time
    assert get_user(users, tenant, created.name).state == User.DEACTIVATED


def test_create_user_in_state_deleted_is_invalid(users: Stub, tenant: TenantAccess) -> None:
    """DELETED is reached only through DeleteUser."""
    error = fails(lambda: create_user(users, tenant, "bjensen", state=User.DELETED))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert "user.state" in field_violations(error)
    assert list_users(users, tenant).total_size == 0


@pytest.mark.parametrize(
    ("user", "field"),
    [
        (User(user_name=""), "user_name"),
        (User(user_name="ali\x07ce"), "user_name"),
        (User(user_name="ali\nce"), "user_name"),
        (User(user_name=" alice"), "user_name"),
        (User(user_name="a" * 257), "user_name"),
        (User(user_name="alice", title="Chief\x1bOfficer"), "title"),
        (
            User(
                user_name="alice",
                emails=[
                    Value(value="a@example.com", primary=True),
                    Value(value="b@example.com", primary=True),
                ],
            ),
            "emails",
        ),
        (User(user_name="alice", emails=[Value(type="work")]), "emails"),
        (User(user_name="alice", extensions={"acme": struct_pb2.Struct()}), 'extensions["acme"]'),
    ],
    ids=[
        "empty-user-name",
        "bell-in-user-name",
        "newline-in-user-name",
        "leading-space",
        "user-name-too-long",
        "escape-in-title",
        "two-primary-emails",
        "email-without-value",
        "extension-key-not-a-urn",
    ],
)
def test_create_user_with_an_invalid_field_is_invalid_argument(
    users: Stub, tenant: TenantAccess, user: User, field: str
) -> None:
    """Invalid fields are INVALID_ARGUMENT with a BadRequest field violation
    naming them by their path in the request (AIP-193), and nothing is created."""
    error = fails(
        lambda: users.CreateUser(
            user_service_pb2.CreateUserRequest(parent=tenant.parent, user=user),
            metadata=tenant.metadata,
        )
    )

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert f"user.{field}" in field_violations(error), field_violations(error)
    assert list_users(users, tenant).total_size == 0
