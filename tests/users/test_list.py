"""ListUsers: paging and skip (AIP-158), ordering (AIP-132), page tokens bound to
their query, and filters through the RPC (AIP-160, RFC 7644 §3.4.2.2)."""

from collections.abc import Callable
from typing import Any

import pytest
from identity.v1 import user_service_pb2

from tests.helpers import TenantAccess, field_violations
from tests.users.support import (
    Code,
    Enterprise,
    Stub,
    User,
    Value,
    assert_error,
    create_user,
    fails,
    list_users,
    user_names,
)

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _walk(
    users: Stub, tenant: TenantAccess, **query: Any
) -> list[user_service_pb2.ListUsersResponse]:
    """Every page of a ListUsers query, following next_page_token."""
    pages = [list_users(users, tenant, **query)]
    while pages[-1].next_page_token:
        assert len(pages) < 100, "the page tokens do not come to an end"
        pages.append(list_users(users, tenant, page_token=pages[-1].next_page_token, **query))
    return pages


@pytest.fixture
def twenty_five(users: Stub, tenant: TenantAccess) -> list[User]:
    """25 users created one after another, in creation order."""
    return [create_user(users, tenant, f"user-{i:02d}") for i in range(25)]


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


def _sweep(users: Stub, tenant: TenantAccess, total: int, size: int) -> list[list[str]]:
    """An Okta-style import: positional pages skip=0, size, 2*size, ..."""
    return [
        [u.id for u in list_users(users, tenant, page_size=size, skip=skip).users]
        for skip in range(0, total, size)
    ]


def test_a_positional_sweep_gives_every_user_once_in_order(
    users: Stub, tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """Each positional page starts where the previous one ended (the
    server continues from there when nothing changed in between)."""
    ids = sorted(u.id for u in twenty_five)

    pages = _sweep(users, tenant, 25, 5)

    assert pages == [ids[i : i + 5] for i in range(0, 25, 5)]


def test_a_positional_page_after_a_write_counts_positions_anew(
    users: Stub, tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """A user created between two pages shifts the positions as skip says:
    the server does not continue from the stale end of the page before, and
    the total counts the new user."""
    first = list_users(users, tenant, page_size=10, skip=0)
    created = create_user(users, tenant, "user-new")
    second = list_users(users, tenant, page_size=10, skip=10)

    before = sorted(u.id for u in twenty_five)
    after = sorted([*before, created.id])
    assert [u.id for u in first.users] == before[:10]
    assert [u.id for u in second.users] == after[10:20]
    assert (first.total_size, second.total_size) == (25, 26)


def test_list_users_skip_beyond_the_end_is_an_empty_last_page(
    users: Stub, tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """Skipping every user leaves an empty page, with the total still told."""
    response = list_users(users, tenant, skip=30)

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
        create_user(users, tenant, user_name, display_name=display_name)

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
    error = fails(lambda: list_users(users, tenant, order_by=order_by))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_ORDER_BY")


@pytest.mark.parametrize("token", ["garbage", "!!!", "e30", "eyJrIjpbXX0"])
def test_list_users_with_a_malformed_page_token_is_invalid(
    users: Stub, tenant: TenantAccess, token: str
) -> None:
    """A page token the server did not issue is INVALID_PAGE_TOKEN (AIP-158)."""
    error = fails(lambda: list_users(users, tenant, page_token=token))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


@pytest.mark.parametrize(
    "changed",
    [{"filter": 'userName sw "user"'}, {"order_by": "user_name"}, {"show_deleted": True}],
    ids=["filter", "order_by", "show_deleted"],
)
def test_list_users_with_a_page_token_of_another_query_is_invalid(
    users: Stub, tenant: TenantAccess, twenty_five: list[User], changed: dict[str, Any]
) -> None:
    """A page token holds only for the query that issued it (AIP-158)."""
    token = list_users(users, tenant, page_size=7).next_page_token

    error = fails(lambda: list_users(users, tenant, page_size=7, page_token=token, **changed))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


def test_list_users_with_a_page_token_of_another_tenant_is_invalid(
    users: Stub, tenant: TenantAccess, other_tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """A page token does not carry over to another tenant's credential."""
    token = list_users(users, tenant, page_size=7).next_page_token
    create_user(users, other_tenant, "someone")

    error = fails(
        lambda: users.ListUsers(
            user_service_pb2.ListUsersRequest(parent="tenants/-", page_size=7, page_token=token),
            metadata=other_tenant.metadata,
        )
    )

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


def test_list_users_total_size_counts_the_matches_of_the_filter(
    users: Stub, tenant: TenantAccess, twenty_five: list[User]
) -> None:
    """total_size is the number of users matching the filter, on every page."""
    pages = _walk(users, tenant, page_size=3, filter='userName sw "user-1"')

    assert [p.total_size for p in pages] == [10] * 4
    assert sorted(n for p in pages for n in user_names(p)) == [f"user-1{i}" for i in range(10)]


@pytest.mark.parametrize("field", ["page_size", "skip"])
def test_list_users_with_a_negative_page_size_or_skip_is_invalid(
    users: Stub, tenant: TenantAccess, field: str
) -> None:
    """page_size and skip may not be negative (AIP-158)."""
    error = fails(lambda: list_users(users, tenant, **{field: -1}))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert field in field_violations(error)


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
    create_user(
        users,
        tenant,
        "alice",
        external_id="E-1",
        emails=[Value(value="alice@example.com", type="work")],
    )
    create_user(
        users,
        tenant,
        "bob",
        display_name="Bob",
        emails=[Value(value="bob@example.org", type="home")],
    )
    create_user(
        users, tenant, "carol", display_name="Carol", enterprise=Enterprise(department="Sales")
    )
    create_user(users, tenant, "e\u0301lodie")

    response = list_users(users, tenant, filter=expression, order_by="user_name")

    assert user_names(response) == expected
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
    error = fails(lambda: list_users(users, tenant, filter=expression))

    assert_error(error, Code.INVALID_ARGUMENT, "INVALID_FILTER")
