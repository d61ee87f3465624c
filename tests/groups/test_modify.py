"""ModifyGroup: field and member changes in one transaction (SCIM PATCH and
PUT, RFC 7644 §3.5.2: all operations or none), as one new version when
anything changed."""

from collections.abc import Callable

import pytest

from tests.groups.support import (
    Code,
    Directory,
    Group,
    missing_group,
    missing_user,
    refused,
)
from tests.helpers import error_info, field_violations


def test_a_rename_additions_and_removals_apply_together(directory: Directory) -> None:
    """One call renames the group, removes and adds members, as one new version."""
    a, b, c, nested = directory.user(), directory.user(), directory.user(), directory.group()
    group = directory.group("Engineering", members=[a.name, b.name])

    modified = directory.modify(
        Group(name=group.name, display_name="Platform"),
        "display_name",
        add=[c.name, nested.name],
        remove=[a.name],
    )

    assert (modified.display_name, modified.member_count) == ("Platform", 3)
    assert (group.etag, modified.etag) == ('W/"1"', 'W/"2"')
    assert directory.get(group.name) == modified
    assert directory.member_names(group.name) == {b.name, c.name, nested.name}


@pytest.mark.parametrize("was_member", [True, False], ids=["member", "not-a-member"])
def test_removals_come_before_additions(directory: Directory, was_member: bool) -> None:
    """Removing and adding the same member in one call leaves it a member."""
    alice = directory.user()
    group = directory.group(members=[alice.name] if was_member else [])

    modified = directory.modify(Group(name=group.name), add=[alice.name], remove=[alice.name])

    assert directory.member_names(group.name) == {alice.name}
    assert modified.member_count == 1
    # A member that stays is no change at all.
    assert (modified == group) is was_member


def test_replace_members_makes_the_list_exactly_add_members(directory: Directory) -> None:
    """replace_members (SCIM PUT, RFC 7644 §3.5.1): the member list becomes add_members."""
    a, b, c, nested = directory.user(), directory.user(), directory.user(), directory.group()
    group = directory.group(members=[a.name, b.name, nested.name])

    replaced = directory.modify(Group(name=group.name), add=[b.name, c.name], replace=True)

    assert replaced.member_count == 2
    assert directory.member_names(group.name) == {b.name, c.name}
    assert directory.get(group.name) == replaced


def test_replace_members_with_no_members_clears_the_group(directory: Directory) -> None:
    """An empty list is a valid SCIM PUT: the group ends up empty."""
    group = directory.group(members=[directory.user().name, directory.group().name])

    cleared = directory.modify(Group(name=group.name), replace=True)

    assert cleared.member_count == 0
    assert directory.members(group.name) == []
    assert directory.get(group.name) == cleared


def test_replace_members_and_a_rename_apply_together(directory: Directory) -> None:
    """A SCIM PUT of a group replaces its displayName and its members at once."""
    alice, bob = directory.user(), directory.user()
    group = directory.group("Engineering", members=[alice.name])

    replaced = directory.modify(
        Group(name=group.name, display_name="Platform"), "*", add=[bob.name], replace=True
    )

    assert (replaced.display_name, replaced.external_id) == ("Platform", "")
    assert directory.member_names(group.name) == {bob.name}
    assert replaced.etag == 'W/"2"'


SWAPS: dict[str, Callable[[Directory, Group, list[str]], Group]] = {
    "ReplaceMembers": lambda d, g, members: d.replace(g.name, members),
    "ModifyGroup": lambda d, g, members: d.modify(Group(name=g.name), add=members, replace=True),
}


@pytest.mark.parametrize("method", SWAPS.values(), ids=SWAPS.keys())
def test_swapping_as_many_members_as_stay_is_a_stored_new_version(
    directory: Directory, method: Callable[[Directory, Group, list[str]], Group]
) -> None:
    """A replacement that adds as many members as it removes leaves the count
    but not the version: the etag answered is the one stored (AIP-154)."""
    a, b, c = directory.user(), directory.user(), directory.user()
    group = directory.group(members=[a.name, b.name])

    swapped = method(directory, group, [b.name, c.name])

    assert (swapped.member_count, swapped.etag) == (2, 'W/"2"')
    assert directory.get(group.name) == swapped


def test_remove_members_with_replace_members_is_invalid(directory: Directory) -> None:
    """With replace_members the new list is add_members alone: remove_members must be empty."""
    alice = directory.user()
    group = directory.group(members=[alice.name])

    error = refused(
        lambda: directory.modify(Group(name=group.name), remove=[alice.name], replace=True),
        Code.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )

    assert "remove_members" in field_violations(error)
    assert directory.get(group.name) == group


FAILING_MEMBERS: dict[str, Callable[[Directory, Group], str]] = {
    "missing user": lambda d, _g: missing_user(d),
    "missing group": lambda d, _g: missing_group(d),
    "itself": lambda _d, g: g.name,
    "a cycle": lambda d, g: d.group(members=[g.name]).name,
}


@pytest.mark.parametrize("replace", [False, True], ids=["delta", "replace"])
@pytest.mark.parametrize("failing", FAILING_MEMBERS.values(), ids=FAILING_MEMBERS.keys())
def test_one_refused_member_changes_nothing(
    directory: Directory, failing: Callable[[Directory, Group], str], replace: bool
) -> None:
    """All or nothing (RFC 7644 §3.5.2): a valid rename with one refused
    member is INVALID_MEMBER and leaves the name, members and etag as they were."""
    alice, bob = directory.user(), directory.user()
    group = directory.group("Engineering", members=[alice.name])
    bad = failing(directory, group)
    remove = [] if replace else [alice.name]

    refused(
        lambda: directory.modify(
            Group(name=group.name, display_name="Platform"),
            "display_name",
            add=[bob.name, bad],
            remove=remove,
            replace=replace,
        ),
        Code.INVALID_ARGUMENT,
        "INVALID_MEMBER",
    )

    assert directory.get(group.name) == group
    assert directory.member_names(group.name) == {alice.name}


@pytest.mark.parametrize(
    ("path", "reason"),
    [("display_name", "GROUP_NAME_TAKEN"), ("external_id", "EXTERNAL_ID_TAKEN")],
)
def test_a_taken_name_changes_no_member(directory: Directory, path: str, reason: str) -> None:
    """Uniqueness is checked with the member changes applied, and a conflict
    rolls them back: ALREADY_EXISTS, members unchanged."""
    directory.group("Sales", external_id="okta-sales")
    alice, bob = directory.user(), directory.user()
    group = directory.group("Engineering", members=[alice.name], external_id="okta-eng")
    change = Group(name=group.name, display_name="SALES", external_id="okta-sales")

    refused(
        lambda: directory.modify(change, path, add=[bob.name], remove=[alice.name]),
        Code.ALREADY_EXISTS,
        reason,
    )

    assert directory.get(group.name) == group
    assert directory.member_names(group.name) == {alice.name}


def test_a_stale_etag_is_aborted(directory: Directory) -> None:
    """AIP-154: group.etag, when set, must be the current one; nothing changes."""
    alice, bob = directory.user(), directory.user()
    group = directory.group()
    current = directory.add(group.name, [alice.name])
    stale = Group(name=group.name, display_name="Platform", etag=group.etag)

    refused(
        lambda: directory.modify(stale, "display_name", add=[bob.name], remove=[alice.name]),
        Code.ABORTED,
        "ETAG_MISMATCH",
    )

    assert directory.get(group.name) == current
    assert directory.member_names(group.name) == {alice.name}


def test_the_current_etag_is_accepted(directory: Directory) -> None:
    """AIP-154: a request carrying the current etag goes through."""
    group = directory.group()
    alice = directory.user()

    modified = directory.modify(Group(name=group.name, etag=group.etag), add=[alice.name])

    assert modified.member_count == 1


NO_OPS: dict[str, Callable[[Directory, Group, str], Group]] = {
    "nothing asked": lambda d, g, _member: d.modify(Group(name=g.name)),
    "the same name": lambda d, g, _member: d.modify(
        Group(name=g.name, display_name=g.display_name), "display_name"
    ),
    "re-adding a member": lambda d, g, member: d.modify(Group(name=g.name), add=[member]),
    "removing an absent member": lambda d, g, _member: d.modify(
        Group(name=g.name), remove=[missing_user(d)]
    ),
    "the same list": lambda d, g, member: d.modify(Group(name=g.name), add=[member], replace=True),
}


@pytest.mark.parametrize("call", NO_OPS.values(), ids=NO_OPS.keys())
def test_a_call_that_changes_nothing_keeps_the_etag(
    directory: Directory, call: Callable[[Directory, Group, str], Group]
) -> None:
    """No change, no new version (AIP-154)."""
    alice = directory.user()
    group = directory.group("Engineering", members=[alice.name])

    assert call(directory, group, alice.name) == group
    assert directory.get(group.name) == group


def test_a_request_id_replay_returns_the_first_answer(directory: Directory) -> None:
    """AIP-155: a retried ModifyGroup returns the first answer and changes nothing."""
    alice, bob = directory.user(), directory.user()
    group = directory.group("Engineering")
    change = Group(name=group.name, display_name="Platform")
    first = directory.modify(change, "display_name", add=[alice.name], request_id="patch-1")
    latest = directory.modify(Group(name=group.name), add=[bob.name], remove=[alice.name])

    replayed = directory.modify(change, "display_name", add=[alice.name], request_id="patch-1")

    assert replayed == first
    assert directory.get(group.name) == latest
    assert directory.member_names(group.name) == {bob.name}


def test_a_request_id_reused_for_another_change_is_invalid(directory: Directory) -> None:
    """AIP-155: one request_id names one request."""
    alice, bob = directory.user(), directory.user()
    group = directory.group()
    directory.modify(Group(name=group.name), add=[alice.name], request_id="patch-2")

    refused(
        lambda: directory.modify(Group(name=group.name), add=[bob.name], request_id="patch-2"),
        Code.INVALID_ARGUMENT,
        "REQUEST_ID_REUSED",
    )
    assert directory.member_names(group.name) == {alice.name}


LIMITS: dict[str, tuple[bool, bool, int]] = {
    "add_members": (True, False, 1000),
    "remove_members": (False, False, 1000),
    "add_members with replace_members": (True, True, 10_000),
}


@pytest.mark.parametrize(("adding", "replace", "limit"), LIMITS.values(), ids=LIMITS.keys())
def test_more_members_than_the_limit_is_resource_exhausted(
    directory: Directory, adding: bool, replace: bool, limit: int
) -> None:
    """Beyond the per-call limit is TOO_MANY_ITEMS, with ErrorInfo.metadata["limit"]."""
    group = directory.group("Engineering")
    names = [missing_user(directory) for _ in range(limit + 1)]
    change = Group(name=group.name, display_name="Platform")

    error = refused(
        lambda: directory.modify(
            change,
            "display_name",
            add=names if adding else [],
            remove=[] if adding else names,
            replace=replace,
        ),
        Code.RESOURCE_EXHAUSTED,
        "TOO_MANY_ITEMS",
    )

    assert error_info(error).metadata["limit"] == str(limit)
    assert directory.get(group.name) == group


def test_a_group_of_another_tenant_is_not_found(directory: Directory, elsewhere: Directory) -> None:
    """A resource of another tenant is indistinguishable from a missing one."""
    theirs = elsewhere.group(members=[elsewhere.user().name])
    change = Group(name=theirs.name, display_name="Mine")
    # "-": a member named under our own tenant would not match theirs.
    mine = f"tenants/-/users/{directory.user().id}"

    refused(
        lambda: directory.modify(change, "display_name", add=[mine]),
        Code.NOT_FOUND,
        "NOT_FOUND",
    )
    refused(
        lambda: directory.modify(Group(name=missing_group(directory))), Code.NOT_FOUND, "NOT_FOUND"
    )
    assert elsewhere.get(theirs.name) == theirs


@pytest.mark.parametrize("field", ["add_members", "remove_members"])
def test_a_member_named_under_another_tenant_is_invalid(
    directory: Directory, elsewhere: Directory, field: str
) -> None:
    """Members must belong to the group's tenant; the violation names the field."""
    group = directory.group()
    theirs = elsewhere.user()

    error = refused(
        lambda: directory.modify(
            Group(name=group.name),
            add=[theirs.name] if field == "add_members" else [],
            remove=[theirs.name] if field == "remove_members" else [],
        ),
        Code.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )

    assert field in field_violations(error)
    assert elsewhere.memberships(theirs.name, transitive=False) == {}


def test_the_callers_own_tenant_may_be_named_with_a_dash(directory: Directory) -> None:
    """AIP-159: "tenants/-" stands for the caller's tenant, in the group and member names."""
    alice = directory.user()
    group = directory.group()

    modified = directory.modify(
        Group(name=f"tenants/-/groups/{group.id}", display_name="Platform"),
        "display_name",
        add=[f"tenants/-/users/{alice.id}"],
    )

    assert (modified.name, modified.display_name) == (group.name, "Platform")
    assert directory.member_names(group.name) == {alice.name}


@pytest.mark.parametrize("paths", [["member_count"], ["name"], ["display_name", "etag"]])
def test_an_update_mask_naming_no_updatable_field_is_invalid(
    directory: Directory, paths: list[str]
) -> None:
    """AIP-134, as in UpdateGroup; an empty mask is allowed (member changes only)."""
    group = directory.group()

    refused(
        lambda: directory.modify(Group(name=group.name, display_name="x"), *paths),
        Code.INVALID_ARGUMENT,
        "INVALID_UPDATE_MASK",
    )


def test_an_invalid_field_is_named_from_the_request(directory: Directory) -> None:
    """AIP-193: field violations lead from the request, "group.display_name"."""
    alice = directory.user()
    group = directory.group()

    error = refused(
        lambda: directory.modify(Group(name=group.name), "*", add=[alice.name]),
        Code.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )

    assert "group.display_name" in field_violations(error)
    assert directory.get(group.name) == group
