"""ListGroups (paging AIP-158, ordering AIP-132, filters RFC 7644 §3.4.2.2),
BatchGetGroups (AIP-231) and malformed group names (AIP-122)."""

import pytest

from tests.groups.support import Code, Directory, gs, missing_group, refused
from tests.helpers import error_info


def test_list_groups_walks_every_group_once_by_page(directory: Directory) -> None:
    """AIP-158: page tokens continue where the last page ended; total_size counts all."""
    created = {directory.group().name for _ in range(5)}
    seen: list[str] = []
    token = ""
    while True:
        page = directory.list_groups(page_size=2, page_token=token)
        assert page.total_size == 5
        assert len(page.groups) <= 2
        seen.extend(g.name for g in page.groups)
        token = page.next_page_token
        if not token:
            break

    assert sorted(seen) == sorted(created)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("display_name", ["alpha", "Beta", "gamma"]),
        ("display_name desc", ["gamma", "Beta", "alpha"]),
    ],
)
def test_list_groups_orders_by_display_name_ignoring_case(
    directory: Directory, order_by: str, expected: list[str]
) -> None:
    """AIP-132 order_by; displayName sorts case-insensitively, as it compares."""
    for name in ("gamma", "alpha", "Beta"):
        directory.group(name)

    page = directory.list_groups(order_by=order_by)

    assert [g.display_name for g in page.groups] == expected


def test_list_groups_skips_the_first_groups(directory: Directory) -> None:
    """AIP-158 skip (SCIM startIndex) drops that many groups from the front."""
    for name in ("a", "b", "c", "d"):
        directory.group(name)

    page = directory.list_groups(order_by="display_name", skip=1, page_size=2)

    assert [g.display_name for g in page.groups] == ["b", "c"]
    assert page.total_size == 4


def test_an_unsupported_order_by_is_invalid_argument(directory: Directory) -> None:
    """AIP-132: order_by names only the documented fields."""
    refused(
        lambda: directory.list_groups(order_by="member_count"),
        Code.INVALID_ARGUMENT,
        "INVALID_ORDER_BY",
    )


@pytest.mark.parametrize(
    "expression",
    [
        'displayName eq "engineering"',
        'displayName eq "ENGINEERING"',
        'DISPLAYNAME eq "Engineering"',
        'displayName eq "engineering" and not (displayName eq "sales")',
    ],
)
def test_a_display_name_filter_is_case_insensitive(directory: Directory, expression: str) -> None:
    """RFC 7643 §4.2: displayName is caseExact false, in filters too (RFC 7644 §3.4.2.2)."""
    engineering = directory.group("Engineering")
    directory.group("Sales")

    page = directory.list_groups(filter=expression)

    assert [g.name for g in page.groups] == [engineering.name]
    assert page.total_size == 1


def test_a_members_value_filter_finds_the_groups_a_member_is_directly_in(
    directory: Directory,
) -> None:
    """members[value eq "<id>"] matches direct membership only (RFC 7644 §3.4.2.2)."""
    alice = directory.user()
    direct = directory.group(members=[alice.name])
    directory.group(members=[direct.name])  # contains alice only through `direct`
    directory.group()

    page = directory.list_groups(filter=f'members[value eq "{alice.id}"]')

    assert [g.name for g in page.groups] == [direct.name]


def test_an_invalid_filter_is_invalid_argument(directory: Directory) -> None:
    """A filter that does not parse is INVALID_FILTER, never a crash."""
    refused(
        lambda: directory.list_groups(filter="displayName eq"),
        Code.INVALID_ARGUMENT,
        "INVALID_FILTER",
    )


def test_batch_get_returns_groups_in_the_order_asked(directory: Directory) -> None:
    """AIP-231: BatchGet answers in the order of the request."""
    a, b, c = directory.group(), directory.group(), directory.group()

    request = gs.BatchGetGroupsRequest(
        parent=directory.tenant.parent, names=[c.name, a.name, b.name]
    )
    found = directory.groups.BatchGetGroups(request, metadata=directory.metadata)

    assert [g.name for g in found.groups] == [c.name, a.name, b.name]


def test_batch_get_with_one_missing_group_is_not_found(directory: Directory) -> None:
    """AIP-231: the batch fails as a whole when any name is missing."""
    present = directory.group()

    request = gs.BatchGetGroupsRequest(
        parent=directory.tenant.parent, names=[present.name, missing_group(directory)]
    )
    refused(
        lambda: directory.groups.BatchGetGroups(request, metadata=directory.metadata),
        Code.NOT_FOUND,
        "NOT_FOUND",
    )


def test_batch_get_of_more_than_1000_names_is_resource_exhausted(directory: Directory) -> None:
    """BatchGetGroups takes at most 1,000 names (AIP-231), saying so in metadata["limit"]."""
    names = [missing_group(directory) for _ in range(1001)]
    request = gs.BatchGetGroupsRequest(parent=directory.tenant.parent, names=names)

    error = refused(
        lambda: directory.groups.BatchGetGroups(request, metadata=directory.metadata),
        Code.RESOURCE_EXHAUSTED,
        "TOO_MANY_ITEMS",
    )

    assert error_info(error).metadata["limit"] == "1000"


@pytest.mark.parametrize(
    "name", ["", "groups/x", "tenants/t/users/x", "tenants/t/groups/x/extra", "tenants//groups/x"]
)
def test_a_malformed_group_name_is_invalid_argument(directory: Directory, name: str) -> None:
    """AIP-122: a name that is not tenants/{tenant}/groups/{group} is INVALID_FIELD."""
    refused(lambda: directory.get(name), Code.INVALID_ARGUMENT, "INVALID_FIELD")
