"""identity.v1.UserService over a real server and a real SQLite file: every
method, its documented errors (AIP-193), etags (AIP-154), request_id
(AIP-155), paging (AIP-158), filters (AIP-160, RFC 7644 §3.4.2.2), soft
delete (AIP-164) and the uniqueness race."""

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias

import grpc
import pytest
from google.protobuf import field_mask_pb2, struct_pb2, timestamp_pb2
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from tests.helpers import TenantAccess, error_info, field_violations

Stub = user_service_pb2_grpc.UserServiceStub
User = user_pb2.User
Name = user_pb2.Name
Value = user_pb2.MultiValuedAttribute
Enterprise = user_pb2.EnterpriseUser
Code = grpc.StatusCode
State: TypeAlias = user_pb2.User.State.ValueType

DOMAIN = "roster.identity.v1"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
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


# ---- helpers


def _create(users: Stub, tenant: TenantAccess, user_name: str, **fields: Any) -> User:
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=User(user_name=user_name, **fields)
    )
    return users.CreateUser(request, metadata=tenant.metadata)


def _get(users: Stub, tenant: TenantAccess, name: str, *, show_deleted: bool = False) -> User:
    request = user_service_pb2.GetUserRequest(name=name, show_deleted=show_deleted)
    return users.GetUser(request, metadata=tenant.metadata)


def _list(users: Stub, tenant: TenantAccess, **query: Any) -> user_service_pb2.ListUsersResponse:
    request = user_service_pb2.ListUsersRequest(parent=tenant.parent, **query)
    return users.ListUsers(request, metadata=tenant.metadata)


def _update(users: Stub, tenant: TenantAccess, user: User, *paths: str, **extra: Any) -> User:
    request = user_service_pb2.UpdateUserRequest(
        user=user, update_mask=field_mask_pb2.FieldMask(paths=list(paths)), **extra
    )
    return users.UpdateUser(request, metadata=tenant.metadata)


def _by_name(users: Stub, tenant: TenantAccess, method: str, name: str, **extra: Any) -> User:
    """Call DeleteUser, UndeleteUser, DeactivateUser or ReactivateUser."""
    request = getattr(user_service_pb2, f"{method}Request")(name=name, **extra)
    result: User = getattr(users, method)(request, metadata=tenant.metadata)
    return result


def _fails(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def _assert_error(error: grpc.RpcError, code: grpc.StatusCode, reason: str) -> None:
    assert error.code() == code, error.details()
    info = error_info(error)
    assert (info.domain, info.reason) == (DOMAIN, reason)


def _walk(
    users: Stub, tenant: TenantAccess, **query: Any
) -> list[user_service_pb2.ListUsersResponse]:
    """Every page of a ListUsers query, following next_page_token."""
    pages = [_list(users, tenant, **query)]
    while pages[-1].next_page_token:
        assert len(pages) < 100, "the page tokens do not come to an end"
        pages.append(_list(users, tenant, page_token=pages[-1].next_page_token, **query))
    return pages


def _user_names(response: user_service_pb2.ListUsersResponse) -> list[str]:
    return [u.user_name for u in response.users]


def _writable_part(user: User) -> User:
    """The user without its output-only fields and state."""
    copy = User()
    copy.CopyFrom(user)
    for field in (*OUTPUT_ONLY, "state"):
        copy.ClearField(field)  # type: ignore[arg-type]
    return copy


def _acme_extension() -> struct_pb2.Struct:
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
        extensions={ACME_URN: _acme_extension()},
    )


# ---- CreateUser and GetUser


def test_create_user_keeps_every_kind_of_attribute(users: Stub, tenant: TenantAccess) -> None:
    """Every core (RFC 7643 §4.1), enterprise (§4.3, manager included) and
    extension attribute comes back from Create and Get as it was sent."""
    manager = _create(users, tenant, "jsmith", display_name="John Smith")
    sent = _full_user("bjensen", manager)

    created = users.CreateUser(
        user_service_pb2.CreateUserRequest(parent=tenant.parent, user=sent),
        metadata=tenant.metadata,
    )

    assert _writable_part(created) == sent
    assert _get(users, tenant, created.name) == created


def test_create_user_assigns_the_name_id_times_etag_and_active_state(
    users: Stub, tenant: TenantAccess
) -> None:
    """The server sets id (a UUID), name tenants/{tenant}/users/{id}, equal
    create and update times, a weak etag (AIP-154), and ACTIVE by default."""
    created = _create(users, tenant, "bjensen")

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
    created = _create(
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
    assert _get(users, tenant, created.name) == created


def test_create_user_in_state_deactivated_starts_deactivated(
    users: Stub, tenant: TenantAccess
) -> None:
    """state DEACTIVATED on create gives a deactivated user with its
    deactivate_time (SCIM active=false on POST)."""
    created = _create(users, tenant, "bjensen", state=User.DEACTIVATED)

    assert created.state == User.DEACTIVATED
    assert created.deactivate_time == created.create_time
    assert _get(users, tenant, created.name).state == User.DEACTIVATED


def test_create_user_in_state_deleted_is_invalid(users: Stub, tenant: TenantAccess) -> None:
    """DELETED is reached only through DeleteUser."""
    error = _fails(lambda: _create(users, tenant, "bjensen", state=User.DELETED))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert "user.state" in field_violations(error)
    assert _list(users, tenant).total_size == 0


def test_get_user_in_another_tenant_is_not_found(
    users: Stub, tenant: TenantAccess, other_tenant: TenantAccess
) -> None:
    """A user of another tenant is indistinguishable from a missing one."""
    created = _create(users, tenant, "bjensen")

    error = _fails(lambda: _get(users, other_tenant, created.name))

    _assert_error(error, Code.NOT_FOUND, "NOT_FOUND")


# ---- uniqueness


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("alice", "alice"),
        ("alice", "ALICE"),
        ("Alice", "aLiCe"),
        ("e\u0301lodie", "\u00e9lodie"),
        ("\u00c9lodie", "E\u0301LODIE"),
        ("stra\u00dfe", "STRASSE"),
    ],
    ids=["same", "upper", "mixed", "nfd-vs-nfc", "nfc-vs-nfd-upper", "sharp-s-casefold"],
)
def test_create_user_with_a_taken_user_name_is_already_exists(
    users: Stub, tenant: TenantAccess, first: str, second: str
) -> None:
    """userName is unique per tenant after NFC and case folding (RFC 7643
    §4.1.1 "caseExact" false)."""
    _create(users, tenant, first)

    error = _fails(lambda: _create(users, tenant, second))

    _assert_error(error, Code.ALREADY_EXISTS, "USER_NAME_TAKEN")
    assert _list(users, tenant).total_size == 1


def test_create_user_with_a_taken_external_id_is_already_exists(
    users: Stub, tenant: TenantAccess
) -> None:
    """externalId is unique per tenant among live users."""
    _create(users, tenant, "alice", external_id="ABC")

    error = _fails(lambda: _create(users, tenant, "bob", external_id="ABC"))

    _assert_error(error, Code.ALREADY_EXISTS, "EXTERNAL_ID_TAKEN")
    assert _list(users, tenant).total_size == 1


def test_external_ids_differing_only_in_case_coexist(users: Stub, tenant: TenantAccess) -> None:
    """externalId is compared exactly (RFC 7643 §3.1: caseExact)."""
    upper = _create(users, tenant, "alice", external_id="ABC")
    lower = _create(users, tenant, "bob", external_id="abc")

    assert (upper.external_id, lower.external_id) == ("ABC", "abc")


def test_the_same_user_name_may_exist_in_two_tenants(
    users: Stub, tenant: TenantAccess, other_tenant: TenantAccess
) -> None:
    """Uniqueness is per tenant."""
    first = _create(users, tenant, "alice", external_id="x1")
    second = _create(users, other_tenant, "alice", external_id="x1")

    assert first.id != second.id


def test_update_user_to_a_taken_user_name_is_already_exists(
    users: Stub, tenant: TenantAccess
) -> None:
    """UpdateUser keeps userName unique as CreateUser does."""
    _create(users, tenant, "alice")
    bob = _create(users, tenant, "bob")

    error = _fails(
        lambda: _update(users, tenant, User(name=bob.name, user_name="ALICE"), "user_name")
    )

    _assert_error(error, Code.ALREADY_EXISTS, "USER_NAME_TAKEN")
    assert _get(users, tenant, bob.name) == bob


# ---- invalid fields and names


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
    error = _fails(
        lambda: users.CreateUser(
            user_service_pb2.CreateUserRequest(parent=tenant.parent, user=user),
            metadata=tenant.metadata,
        )
    )

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert f"user.{field}" in field_violations(error), field_violations(error)
    assert _list(users, tenant).total_size == 0


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
    error = _fails(lambda: getattr(users, method)(request_message, metadata=tenant.metadata))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert field in field_violations(error)


# ---- NOT_FOUND


@pytest.mark.parametrize("method", ["GetUser", "UpdateUser", *BY_NAME_METHODS])
def test_every_method_on_a_missing_user_is_not_found(
    users: Stub, tenant: TenantAccess, method: str
) -> None:
    """A user that never existed is NOT_FOUND."""
    name = f"{tenant.parent}/users/{uuid.uuid4()}"
    calls: dict[str, Callable[[], object]] = {
        "GetUser": lambda: _get(users, tenant, name),
        "UpdateUser": lambda: _update(users, tenant, User(name=name, title="x"), "title"),
    }
    call = calls.get(method, lambda: _by_name(users, tenant, method, name))

    _assert_error(_fails(call), Code.NOT_FOUND, "NOT_FOUND")


@pytest.mark.parametrize(
    "method", ["GetUser", "UpdateUser", "DeleteUser", "DeactivateUser", "ReactivateUser"]
)
def test_every_method_but_undelete_on_a_deleted_user_is_not_found(
    users: Stub, tenant: TenantAccess, method: str
) -> None:
    """A soft-deleted user is NOT_FOUND to every method but UndeleteUser and
    Get with show_deleted (AIP-164)."""
    created = _create(users, tenant, "alice")
    deleted = _by_name(users, tenant, "DeleteUser", created.name)
    calls: dict[str, Callable[[], object]] = {
        "GetUser": lambda: _get(users, tenant, created.name),
        "UpdateUser": lambda: _update(users, tenant, User(name=created.name, title="x"), "title"),
    }
    call = calls.get(method, lambda: _by_name(users, tenant, method, created.name))

    _assert_error(_fails(call), Code.NOT_FOUND, "NOT_FOUND")
    assert _get(users, tenant, created.name, show_deleted=True) == deleted


# ---- BatchGetUsers


def test_batch_get_users_answers_in_the_order_asked(users: Stub, tenant: TenantAccess) -> None:
    """BatchGet returns the users in the order of the request (AIP-231)."""
    alice, bob, carol = (_create(users, tenant, n) for n in ("alice", "bob", "carol"))
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
    alice = _create(users, tenant, "alice")
    bob = _create(users, tenant, "bob")
    if deleted:
        _by_name(users, tenant, "DeleteUser", bob.name)
        absent = bob.name
    else:
        absent = f"{tenant.parent}/users/{uuid.uuid4()}"

    error = _fails(
        lambda: users.BatchGetUsers(
            user_service_pb2.BatchGetUsersRequest(parent=tenant.parent, names=[alice.name, absent]),
            metadata=tenant.metadata,
        )
    )

    _assert_error(error, Code.NOT_FOUND, "NOT_FOUND")


def test_batch_get_users_beyond_a_thousand_names_is_resource_exhausted(
    users: Stub, tenant: TenantAccess
) -> None:
    """At most 1,000 names per call; the limit is in the ErrorInfo metadata."""
    alice = _create(users, tenant, "alice")

    error = _fails(
        lambda: users.BatchGetUsers(
            user_service_pb2.BatchGetUsersRequest(parent=tenant.parent, names=[alice.name] * 1001),
            metadata=tenant.metadata,
        )
    )

    _assert_error(error, Code.RESOURCE_EXHAUSTED, "TOO_MANY_ITEMS")
    assert error_info(error).metadata["limit"] == "1000"


def test_batch_get_users_of_a_thousand_names_is_allowed(users: Stub, tenant: TenantAccess) -> None:
    """1,000 names is within the limit."""
    alice = _create(users, tenant, "alice")

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
    alice = _create(users, tenant, "alice")
    foreign = f"{other_tenant.parent}/users/{alice.id}"
    request = user_service_pb2.BatchGetUsersRequest(
        parent=tenant.parent if parent == "own" else "tenants/-", names=[foreign]
    )

    error = _fails(lambda: users.BatchGetUsers(request, metadata=tenant.metadata))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert "names" in field_violations(error)


# ---- UpdateUser


def test_update_user_replaces_only_the_fields_in_the_mask(
    users: Stub, tenant: TenantAccess
) -> None:
    """Fields outside update_mask keep their values (AIP-134)."""
    created = _create(users, tenant, "alice", display_name="Alice A", title="Engineer")

    updated = _update(
        users,
        tenant,
        User(name=created.name, display_name="Alice B", title="ignored", nick_name="ignored"),
        "display_name",
    )

    assert (updated.display_name, updated.title, updated.nick_name) == ("Alice B", "Engineer", "")
    assert updated.update_time.ToDatetime() > created.update_time.ToDatetime()
    assert _get(users, tenant, created.name) == updated


def test_update_user_with_a_field_in_the_mask_but_not_in_the_user_clears_it(
    users: Stub, tenant: TenantAccess
) -> None:
    """A masked field absent from the message is cleared (AIP-134)."""
    created = _create(users, tenant, "alice", title="Engineer", emails=[Value(value="a@x.com")])

    updated = _update(users, tenant, User(name=created.name), "title", "emails")

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
    created = _create(
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

    updated = _update(users, tenant, patch, path)

    assert getattr(updated, field) == expected
    assert _get(users, tenant, created.name) == updated


def test_update_user_with_a_star_mask_replaces_every_writable_field(
    users: Stub, tenant: TenantAccess
) -> None:
    """update_mask "*" is a full replacement: fields not given are cleared
    (AIP-134)."""
    created = _create(
        users,
        tenant,
        "alice",
        external_id="ext-1",
        display_name="Alice",
        title="Engineer",
        emails=[Value(value="alice@example.com", primary=True)],
        enterprise=Enterprise(department="Engineering"),
        extensions={ACME_URN: _acme_extension()},
    )

    updated = _update(
        users, tenant, User(name=created.name, user_name="alice2", nick_name="Al"), "*"
    )

    assert _writable_part(updated) == User(user_name="alice2", nick_name="Al")
    assert (updated.id, updated.state) == (created.id, User.ACTIVE)
    assert _get(users, tenant, created.name) == updated


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
    created = _create(users, tenant, "alice", state=User.DEACTIVATED)

    updated = _update(users, tenant, User(name=created.name, user_name="alice", state=sent), "*")

    assert updated.state == expected
    assert updated.HasField("deactivate_time") == (expected == User.DEACTIVATED)


def test_update_user_with_state_in_the_mask_deactivates_and_reactivates(
    users: Stub, tenant: TenantAccess
) -> None:
    """ "state" in the mask moves between ACTIVE and DEACTIVATED (SCIM
    active), setting and clearing deactivate_time."""
    created = _create(users, tenant, "alice", title="Engineer")

    deactivated = _update(users, tenant, User(name=created.name, state=User.DEACTIVATED), "state")
    reactivated = _update(users, tenant, User(name=created.name, state=User.ACTIVE), "state")

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
    created = _create(users, tenant, "alice", title="Engineer")

    error = _fails(
        lambda: _update(users, tenant, User(name=created.name, title="Boss"), "title", path)
    )

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_UPDATE_MASK")
    assert _get(users, tenant, created.name) == created


def test_update_user_with_an_empty_mask_is_invalid(users: Stub, tenant: TenantAccess) -> None:
    """update_mask is required; "*" asks for a full replacement."""
    created = _create(users, tenant, "alice", title="Engineer")

    error = _fails(lambda: _update(users, tenant, User(name=created.name, title="Boss")))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_UPDATE_MASK")
    assert _get(users, tenant, created.name) == created


def test_update_user_to_an_invalid_value_is_invalid_argument(
    users: Stub, tenant: TenantAccess
) -> None:
    """The updated user must satisfy the same rules as a new one."""
    created = _create(users, tenant, "alice")

    error = _fails(lambda: _update(users, tenant, User(name=created.name), "user_name"))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert _get(users, tenant, created.name) == created


# ---- etags (AIP-154)


def test_update_user_with_a_stale_etag_is_aborted_and_changes_nothing(
    users: Stub, tenant: TenantAccess
) -> None:
    """An etag that is not the current one is ABORTED (AIP-154)."""
    created = _create(users, tenant, "alice", title="Engineer")
    current = _update(users, tenant, User(name=created.name, title="Lead"), "title")

    error = _fails(
        lambda: _update(
            users, tenant, User(name=created.name, title="Boss", etag=created.etag), "title"
        )
    )

    _assert_error(error, Code.ABORTED, "ETAG_MISMATCH")
    assert _get(users, tenant, created.name) == current


@pytest.mark.parametrize("method", BY_NAME_METHODS)
def test_state_changes_with_a_stale_etag_are_aborted_and_change_nothing(
    users: Stub, tenant: TenantAccess, method: str
) -> None:
    """Delete, Undelete, Deactivate and Reactivate honour the etag too (AIP-154)."""
    created = _create(users, tenant, "alice")
    current = _by_name(users, tenant, "DeactivateUser", created.name)
    if method == "UndeleteUser":
        current = _by_name(users, tenant, "DeleteUser", created.name)

    error = _fails(lambda: _by_name(users, tenant, method, created.name, etag=created.etag))

    _assert_error(error, Code.ABORTED, "ETAG_MISMATCH")
    assert _get(users, tenant, created.name, show_deleted=True) == current


@pytest.mark.parametrize(
    "form",
    [lambda etag: etag, lambda etag: etag.removeprefix("W/")],
    ids=["weak", "strong"],
)
def test_the_weak_and_strong_forms_of_the_current_etag_both_match(
    users: Stub, tenant: TenantAccess, form: Callable[[str], str]
) -> None:
    """W/"n" and "n" name the same version (AIP-154, RFC 9110 §8.8.3.2
    weak comparison)."""
    created = _create(users, tenant, "alice")

    updated = _update(
        users, tenant, User(name=created.name, title="Lead", etag=form(created.etag)), "title"
    )
    deactivated = _by_name(users, tenant, "DeactivateUser", created.name, etag=form(updated.etag))

    assert (updated.title, deactivated.state) == ("Lead", User.DEACTIVATED)


def test_the_etag_changes_on_every_change(users: Stub, tenant: TenantAccess) -> None:
    """Every real change gives a new etag (AIP-154)."""
    created = _create(users, tenant, "alice")
    name = created.name
    answers = [
        created,
        _update(users, tenant, User(name=name, title="Lead"), "title"),
        _by_name(users, tenant, "DeactivateUser", name),
        _by_name(users, tenant, "ReactivateUser", name),
        _by_name(users, tenant, "DeleteUser", name),
        _by_name(users, tenant, "UndeleteUser", name),
    ]

    etags = [a.etag for a in answers]
    assert len(set(etags)) == len(etags), etags


@pytest.mark.parametrize(
    ("start", "method"),
    [(User.DEACTIVATED, "DeactivateUser"), (User.ACTIVE, "ReactivateUser")],
    ids=["deactivate-deactivated", "reactivate-active"],
)
def test_a_state_change_that_changes_nothing_keeps_the_etag(
    users: Stub, tenant: TenantAccess, start: State, method: str
) -> None:
    """Deactivating a deactivated user (or reactivating an active one) is a
    no-op: same etag, same update_time."""
    created = _create(users, tenant, "alice", state=start)

    again = _by_name(users, tenant, method, created.name)

    assert again == created


def test_an_update_to_the_same_values_keeps_the_etag(users: Stub, tenant: TenantAccess) -> None:
    """An update that changes nothing is not a new version."""
    created = _create(users, tenant, "alice", title="Engineer")

    again = _update(users, tenant, User(name=created.name, title="Engineer"), "title")

    assert again == created


def test_concurrent_updates_with_one_etag_end_with_one_winner(
    users: Stub, tenant: TenantAccess
) -> None:
    """Writers racing on the same etag: one succeeds, every other is ABORTED
    (AIP-154 optimistic concurrency)."""
    created = _create(users, tenant, "alice")
    start = threading.Barrier(12)

    def send(title: str) -> User | grpc.RpcError:
        start.wait(timeout=30)
        try:
            return _update(
                users, tenant, User(name=created.name, title=title, etag=created.etag), "title"
            )
        except grpc.RpcError as error:
            return error

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(send, [f"title-{i}" for i in range(12)]))

    winners = [o for o in outcomes if isinstance(o, User)]
    losers = [o for o in outcomes if isinstance(o, grpc.RpcError)]
    assert len(winners) == 1
    assert [(e.code(), error_info(e).reason) for e in losers] == [
        (Code.ABORTED, "ETAG_MISMATCH")
    ] * 11
    assert _get(users, tenant, created.name) == winners[0]


# ---- request_id (AIP-155)


def test_a_replayed_create_user_returns_the_first_answer(users: Stub, tenant: TenantAccess) -> None:
    """The same request_id and request returns the first answer and creates
    nothing more (AIP-155)."""
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=User(user_name="alice"), request_id=str(uuid.uuid4())
    )

    first = users.CreateUser(request, metadata=tenant.metadata)
    second = users.CreateUser(request, metadata=tenant.metadata)

    assert second == first
    assert [u.id for u in _list(users, tenant).users] == [first.id]


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

    error = _fails(
        lambda: users.CreateUser(
            user_service_pb2.CreateUserRequest(
                parent=tenant.parent, user=User(user_name="bob"), request_id=request_id
            ),
            metadata=tenant.metadata,
        )
    )

    _assert_error(error, Code.INVALID_ARGUMENT, "REQUEST_ID_REUSED")
    assert [u.id for u in _list(users, tenant).users] == [first.id]


def test_a_request_id_used_for_another_method_is_invalid(users: Stub, tenant: TenantAccess) -> None:
    """A request_id names one request, whatever the method (AIP-155)."""
    request_id = str(uuid.uuid4())
    created = users.CreateUser(
        user_service_pb2.CreateUserRequest(
            parent=tenant.parent, user=User(user_name="alice"), request_id=request_id
        ),
        metadata=tenant.metadata,
    )

    error = _fails(
        lambda: _by_name(users, tenant, "DeactivateUser", created.name, request_id=request_id)
    )

    _assert_error(error, Code.INVALID_ARGUMENT, "REQUEST_ID_REUSED")
    assert _get(users, tenant, created.name).state == User.ACTIVE


def test_a_replayed_deactivate_user_returns_the_first_answer_and_changes_nothing(
    users: Stub, tenant: TenantAccess
) -> None:
    """A replay returns the recorded answer even when the user changed
    since, and does not apply the change again (AIP-155)."""
    created = _create(users, tenant, "alice")
    request_id = str(uuid.uuid4())
    first = _by_name(users, tenant, "DeactivateUser", created.name, request_id=request_id)
    reactivated = _by_name(users, tenant, "ReactivateUser", created.name)

    replay = _by_name(users, tenant, "DeactivateUser", created.name, request_id=request_id)

    assert replay == first
    assert _get(users, tenant, created.name) == reactivated


def test_a_replayed_update_user_returns_the_first_answer(users: Stub, tenant: TenantAccess) -> None:
    """UpdateUser takes a request_id as well (AIP-155)."""
    created = _create(users, tenant, "alice")
    request_id = str(uuid.uuid4())
    patch = User(name=created.name, title="Lead")
    first = _update(users, tenant, patch, "title", request_id=request_id)
    later = _update(users, tenant, User(name=created.name, title="Boss"), "title")

    replay = _update(users, tenant, patch, "title", request_id=request_id)

    assert replay == first
    assert _get(users, tenant, created.name) == later


def test_a_replayed_delete_user_returns_the_first_answer_not_not_found(
    users: Stub, tenant: TenantAccess
) -> None:
    """A retried DeleteUser whose first answer was lost gets that answer,
    although the user is deleted by now (AIP-155)."""
    created = _create(users, tenant, "alice")
    request_id = str(uuid.uuid4())
    first = _by_name(users, tenant, "DeleteUser", created.name, request_id=request_id)

    replay = _by_name(users, tenant, "DeleteUser", created.name, request_id=request_id)

    assert replay == first
    assert _get(users, tenant, created.name, show_deleted=True) == first


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


# ---- soft delete (AIP-164)


def test_delete_user_hides_the_user_but_keeps_a_tombstone(
    users: Stub, tenant: TenantAccess
) -> None:
    """A deleted user is NOT_FOUND, yet Get with show_deleted answers it with
    state DELETED and its delete_time (AIP-164)."""
    created = _create(users, tenant, "alice")

    deleted = _by_name(users, tenant, "DeleteUser", created.name)

    assert (deleted.state, deleted.HasField("delete_time")) == (User.DELETED, True)
    _assert_error(_fails(lambda: _get(users, tenant, created.name)), Code.NOT_FOUND, "NOT_FOUND")
    assert _get(users, tenant, created.name, show_deleted=True) == deleted


def test_delete_user_frees_the_user_name_and_external_id(users: Stub, tenant: TenantAccess) -> None:
    """After delete, a new user may take the userName and externalId."""
    first = _create(users, tenant, "alice", external_id="ext-1")
    _by_name(users, tenant, "DeleteUser", first.name)

    second = _create(users, tenant, "Alice", external_id="ext-1")

    assert second.id != first.id
    assert _get(users, tenant, second.name).user_name == "Alice"


def test_list_users_hides_deleted_users_unless_show_deleted(
    users: Stub, tenant: TenantAccess
) -> None:
    """ListUsers leaves out tombstones unless show_deleted (AIP-164)."""
    alice = _create(users, tenant, "alice")
    bob = _create(users, tenant, "bob")
    _by_name(users, tenant, "DeleteUser", bob.name)

    live = _list(users, tenant)
    everyone = _list(users, tenant, show_deleted=True, order_by="user_name")

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
    created = _create(users, tenant, "alice", state=state, title="Engineer")
    _by_name(users, tenant, "DeleteUser", created.name)

    restored = _by_name(users, tenant, "UndeleteUser", created.name)

    assert (restored.state, restored.HasField("delete_time")) == (state, False)
    assert restored.deactivate_time == created.deactivate_time
    assert _writable_part(restored) == _writable_part(created)
    assert _get(users, tenant, created.name) == restored


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
    created = _create(users, tenant, "alice", external_id="ext-1")
    deleted = _by_name(users, tenant, "DeleteUser", created.name)
    users.CreateUser(
        user_service_pb2.CreateUserRequest(parent=tenant.parent, user=taken_by),
        metadata=tenant.metadata,
    )

    error = _fails(lambda: _by_name(users, tenant, "UndeleteUser", created.name))

    _assert_error(error, Code.FAILED_PRECONDITION, "UNDELETE_CONFLICT")
    assert _get(users, tenant, created.name, show_deleted=True) == deleted


def test_undelete_user_of_a_live_user_is_a_failed_precondition(
    users: Stub, tenant: TenantAccess
) -> None:
    """Only a deleted user can be undeleted (INVALID_STATE)."""
    created = _create(users, tenant, "alice")

    error = _fails(lambda: _by_name(users, tenant, "UndeleteUser", created.name))

    _assert_error(error, Code.FAILED_PRECONDITION, "INVALID_STATE")
    assert _get(users, tenant, created.name) == created


# ---- DeactivateUser and ReactivateUser


def test_deactivate_and_reactivate_user_set_and_clear_the_deactivate_time(
    users: Stub, tenant: TenantAccess
) -> None:
    """Deactivation is reversible and keeps the user visible (SCIM
    active=false)."""
    created = _create(users, tenant, "alice", title="Engineer")

    deactivated = _by_name(users, tenant, "DeactivateUser", created.name)
    visible = _get(users, tenant, created.name)
    reactivated = _by_name(users, tenant, "ReactivateUser", created.name)

    assert (deactivated.state, deactivated.HasField("deactivate_time")) == (User.DEACTIVATED, True)
    assert visible == deactivated
    assert (reactivated.state, reactivated.HasField("deactivate_time")) == (User.ACTIVE, False)
    assert _writable_part(reactivated) == _writable_part(created)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("active eq false", ["bob", "carol"]), ("active eq true", ["alice", "dave"])],
)
def test_the_active_filter_tells_deactivated_users_apart(
    users: Stub, tenant: TenantAccess, expression: str, expected: list[str]
) -> None:
    """SCIM active=false is the DEACTIVATED state (RFC 7643 §4.1.1)."""
    for user_name in ("alice", "bob", "carol", "dave"):
        created = _create(users, tenant, user_name)
        if user_name in ("bob", "carol"):
            _by_name(users, tenant, "DeactivateUser", created.name)

    response = _list(users, tenant, filter=expression, order_by="user_name")

    assert _user_names(response) == expected


# ---- ListUsers paging (AIP-158) and ordering (AIP-132)


@pytest.fixture
def twenty_five(users: Stub, tenant: TenantAccess) -> list[User]:
    """25 users created one after another, in creation order."""
    return [_create(users, tenant, f"user-{i:02d}") for i in range(25)]


def test_list_users_pages_walk_every_user_once_in_a_stable_order(
    users: Stub, tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """next_page_token walks every user exactly once; the default order is by
    id, stable across pages (AIP-158)."""
    pages = _walk(users, tenant, page_size=7)

    assert [len(p.users) for p in pages] == [7, 7, 7, 4]
    assert [p.total_size for p in pages] == [25] * 4
    walked = [u.id for p in pages for u in p.users]
    assert walked == sorted(u.id for u in twenty_five)


def test_list_users_skip_starts_after_that_many_users(
    users: Stub, tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """skip leaves out the first users (AIP-158), and the page token goes on
    from there."""
    ids = sorted(u.id for u in twenty_five)

    pages = _walk(users, tenant, page_size=7, skip=10)

    assert [[u.id for u in p.users] for p in pages] == [ids[10:17], ids[17:24], ids[24:]]


def test_list_users_skip_beyond_the_end_is_an_empty_last_page(
    users: Stub, tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """Skipping every user leaves an empty page, with the total still told."""
    response = _list(users, tenant, skip=30)

    assert (list(response.users), response.next_page_token, response.total_size) == ([], "", 25)


@pytest.mark.parametrize(
    ("order_by", "key"),
    [
        ("user_name desc", lambda u: u.user_name.casefold()),
        ("create_time", lambda u: u.create_time.ToNanoseconds()),
        ("create_time desc", lambda u: u.create_time.ToNanoseconds()),
        ("display_name, user_name", lambda u: (u.display_name.casefold(), u.user_name.casefold())),
    ],
)
def test_list_users_in_order_by_walks_pages_in_that_order(
    users: Stub, tenant: TenantAccess, order_by: str, key: Callable[[User], Any]
) -> None:
    """order_by orders the users across pages (AIP-132), ties broken by id."""
    for user_name, display_name in [
        ("carol", "C"),
        ("Alice", "A"),
        ("bob", "B"),
        ("dave", "A"),
        ("Eve", "B"),
    ]:
        _create(users, tenant, user_name, display_name=display_name)

    pages = _walk(users, tenant, page_size=2, order_by=order_by)

    walked = [u for p in pages for u in p.users]
    expected = sorted(walked, key=key, reverse=order_by.endswith(" desc"))
    assert [u.id for u in walked] == [u.id for u in expected]
    assert len(walked) == 5


@pytest.mark.parametrize(
    "order_by", ["password", "user_name sideways", "user_name desc now", "emails"]
)
def test_list_users_with_an_unsupported_order_by_is_invalid(
    users: Stub, tenant: TenantAccess, order_by: str
) -> None:
    """order_by names only the documented fields (AIP-132)."""
    error = _fails(lambda: _list(users, tenant, order_by=order_by))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_ORDER_BY")


@pytest.mark.parametrize("token", ["garbage", "!!!", "e30", "eyJrIjpbXX0"])
def test_list_users_with_a_malformed_page_token_is_invalid(
    users: Stub, tenant: TenantAccess, token: str
) -> None:
    """A page token the server did not issue is INVALID_PAGE_TOKEN (AIP-158)."""
    error = _fails(lambda: _list(users, tenant, page_token=token))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


@pytest.mark.parametrize(
    "changed",
    [{"filter": 'userName sw "user"'}, {"order_by": "user_name"}, {"show_deleted": True}],
    ids=["filter", "order_by", "show_deleted"],
)
def test_list_users_with_a_page_token_of_another_query_is_invalid(
    users: Stub, tenant: TenantAccess, twenty_five: list[User], changed: dict[str, Any]
) -> None:
    """A page token holds only for the query that issued it (AIP-158)."""
    token = _list(users, tenant, page_size=7).next_page_token

    error = _fails(lambda: _list(users, tenant, page_size=7, page_token=token, **changed))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


def test_list_users_with_a_page_token_of_another_tenant_is_invalid(
    users: Stub, tenant: TenantAccess, other_tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """A page token does not carry over to another tenant's credential."""
    token = _list(users, tenant, page_size=7).next_page_token
    _create(users, other_tenant, "someone")

    error = _fails(
        lambda: users.ListUsers(
            user_service_pb2.ListUsersRequest(parent="tenants/-", page_size=7, page_token=token),
            metadata=other_tenant.metadata,
        )
    )

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


def test_list_users_total_size_counts_the_matches_of_the_filter(
    users: Stub, tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """total_size is the number of users matching the filter, on every page."""
    pages = _walk(users, tenant, page_size=3, filter='userName sw "user-1"')

    assert [p.total_size for p in pages] == [10] * 4
    assert sorted(n for p in pages for n in _user_names(p)) == [f"user-1{i}" for i in range(10)]


@pytest.mark.parametrize("field", ["page_size", "skip"])
def test_list_users_with_a_negative_page_size_or_skip_is_invalid(
    users: Stub, tenant: TenantAccess, field: str
) -> None:
    """page_size and skip may not be negative (AIP-158)."""
    error = _fails(lambda: _list(users, tenant, **{field: -1}))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert field in field_violations(error)


# ---- filters through the RPC (AIP-160, RFC 7644 §3.4.2.2)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "ALICE"', ["alice"]),
        ('user_name eq "Bob"', ["bob"]),
        ('emails[type eq "work" and value co "@EXAMPLE.com"]', ["alice"]),
        ('emails.value ew "example.org"', ["bob"]),
        (f'{ENTERPRISE_URN}:department eq "sales"', ["carol"]),
        ('enterprise.department eq "Sales"', ["carol"]),
        ('not (userName eq "alice") and displayName pr', ["bob", "carol"]),
        ('externalId eq "E-1"', ["alice"]),
        ('externalId eq "e-1"', []),
        ('userName eq "\u00c9LODIE"', ["e\u0301lodie"]),
    ],
)
def test_list_users_filters_through_the_rpc(
    users: Stub, tenant: TenantAccess, expression: str, expected: list[str]
) -> None:
    """The filter reaches the store: userName and emails compared after NFC
    and case folding, externalId exactly, value filters, enterprise
    attributes by URN."""
    _create(
        users,
        tenant,
        "alice",
        external_id="E-1",
        emails=[Value(value="alice@example.com", type="work")],
    )
    _create(
        users,
        tenant,
        "bob",
        display_name="Bob",
        emails=[Value(value="bob@example.org", type="home")],
    )
    _create(users, tenant, "carol", display_name="Carol", enterprise=Enterprise(department="Sales"))
    _create(users, tenant, "e\u0301lodie")

    response = _list(users, tenant, filter=expression, order_by="user_name")

    assert _user_names(response) == expected
    assert response.total_size == len(expected)


@pytest.mark.parametrize(
    "expression",
    ["userName eq", 'no_such_attribute eq "x"', 'userName zz "x"', '(userName eq "x"'],
)
def test_list_users_with_an_invalid_filter_is_invalid(
    users: Stub, tenant: TenantAccess, expression: str
) -> None:
    """A filter that does not parse or names an unknown attribute is
    INVALID_FILTER, never a crash."""
    error = _fails(lambda: _list(users, tenant, filter=expression))

    _assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FILTER")


# ---- the uniqueness race


def _race(
    users: Stub, tenant: TenantAccess, requests: list[user_service_pb2.CreateUserRequest]
) -> list[User | grpc.RpcError]:
    """Send every request at once, one thread each."""
    start = threading.Barrier(len(requests))

    def send(request: user_service_pb2.CreateUserRequest) -> User | grpc.RpcError:
        start.wait(timeout=30)
        try:
            return users.CreateUser(request, metadata=tenant.metadata, timeout=30)
        except grpc.RpcError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


@pytest.mark.parametrize(
    ("make_user", "reason"),
    [
        (lambda i: User(user_name=["Alice", "alice", "ALICE", "aLiCe"][i % 4]), "USER_NAME_TAKEN"),
        (lambda i: User(user_name=f"user-{i}", external_id="okta-1"), "EXTERNAL_ID_TAKEN"),
    ],
    ids=["user-name", "external-id"],
)
def test_concurrent_creates_of_one_identity_end_with_one_winner(
    users: Stub, tenant: TenantAccess, make_user: Callable[[int], User], reason: str
) -> None:
    """Uniqueness is enforced by the database: racing creates of "Alice" and
    "alice" end in one user and ALREADY_EXISTS for every other."""
    requests = [
        user_service_pb2.CreateUserRequest(parent=tenant.parent, user=make_user(i))
        for i in range(24)
    ]

    outcomes = _race(users, tenant, requests)

    winners = [o for o in outcomes if isinstance(o, User)]
    losers = [o for o in outcomes if isinstance(o, grpc.RpcError)]
    assert len(winners) == 1
    assert [(e.code(), error_info(e).reason) for e in losers] == [
        (Code.ALREADY_EXISTS, reason)
    ] * 23
    assert [u.id for u in _list(users, tenant).users] == [winners[0].id]


def test_concurrent_replays_of_one_request_id_create_one_user(
    users: Stub, tenant: TenantAccess
) -> None:
    """Retries racing each other under one request_id all get the first
    answer (AIP-155)."""
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=User(user_name="alice"), request_id=str(uuid.uuid4())
    )

    outcomes = _race(users, tenant, [request] * 12)

    assert all(isinstance(o, User) for o in outcomes), outcomes
    assert len({o.id for o in outcomes if isinstance(o, User)}) == 1
    assert _list(users, tenant).total_size == 1


# ---- "tenants/-" (AIP-159)


def test_the_own_tenant_wildcard_reads_and_creates_under_the_real_slug(
    users: Stub, tenant: TenantAccess
) -> None:
    """A tenant credential may write "tenants/-"; answers carry the real slug."""
    created = users.CreateUser(
        user_service_pb2.CreateUserRequest(parent="tenants/-", user=User(user_name="alice")),
        metadata=tenant.metadata,
    )
    wildcard_name = f"tenants/-/users/{created.id}"

    got = _get(users, tenant, wildcard_name)
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
    created = _create(users, tenant, "alice")
    wildcard_name = f"tenants/-/users/{created.id}"

    if method == "UpdateUser":
        changed = _update(users, tenant, User(name=wildcard_name, title="Lead"), "title")
    else:
        changed = _by_name(users, tenant, method, wildcard_name)

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

    error = _fails(lambda: getattr(users, method)(requests[method], metadata=tenant.metadata))

    _assert_error(error, Code.NOT_FOUND, "NOT_FOUND")
    assert _list(users, other_tenant).total_size == 0
