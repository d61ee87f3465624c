"""Which members a change refuses: missing or deleted ones, other tenants',
the group itself or a cycle through nested groups, and more than the
per-call limit; a refused change changes nothing."""

from collections.abc import Callable

import pytest
from identity.v1 import user_service_pb2

from tests.groups.support import Code, Directory, gs, missing_group, missing_user, refused
from tests.helpers import error_info, field_violations

MEMBER_CHANGES: dict[str, Callable[[Directory, str, list[str]], object]] = {
    "CreateGroup": lambda d, _group, members: d.group(members=members),
    "AddMembers": lambda d, group, members: d.add(group, members),
    "ReplaceMembers": lambda d, group, members: d.replace(group, members),
}


@pytest.mark.parametrize("method", MEMBER_CHANGES.values(), ids=MEMBER_CHANGES.keys())
@pytest.mark.parametrize("missing", [missing_user, missing_group], ids=["user", "group"])
def test_a_batch_with_one_missing_member_changes_nothing(
    directory: Directory,
    method: Callable[[Directory, str, list[str]], object],
    missing: Callable[[Directory], str],
) -> None:
    """Changes are atomic: one member missing from the tenant is INVALID_MEMBER; none is added."""
    alice = directory.user()
    group = directory.group(members=[alice.name])
    batch = [directory.user().name, directory.group().name, missing(directory)]

    refused(lambda: method(directory, group.name, batch), Code.INVALID_ARGUMENT, "INVALID_MEMBER")

    assert directory.get(group.name) == group
    assert directory.member_names(group.name) == {alice.name}
    assert directory.list_groups().total_size == 2  # `group` and the one in `batch`


@pytest.mark.parametrize("method", MEMBER_CHANGES.values(), ids=MEMBER_CHANGES.keys())
def test_a_deleted_user_cannot_become_a_member(
    directory: Directory, method: Callable[[Directory, str, list[str]], object]
) -> None:
    """A deleted user is missing from the tenant (AIP-164)."""
    group = directory.group()
    gone = directory.user()
    directory.users.DeleteUser(
        user_service_pb2.DeleteUserRequest(name=gone.name), metadata=directory.metadata
    )

    refused(
        lambda: method(directory, group.name, [gone.name]), Code.INVALID_ARGUMENT, "INVALID_MEMBER"
    )


@pytest.mark.parametrize("method", ["AddMembers", "ReplaceMembers"])
def test_a_group_cannot_be_added_to_itself(directory: Directory, method: str) -> None:
    """A group may not contain itself."""
    group = directory.group()

    refused(
        lambda: MEMBER_CHANGES[method](directory, group.name, [group.name]),
        Code.INVALID_ARGUMENT,
        "INVALID_MEMBER",
    )
    assert directory.get(group.name).member_count == 0


@pytest.mark.parametrize("method", ["AddMembers", "ReplaceMembers"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_cycle_through_nested_groups_is_refused(
    directory: Directory, method: str, depth: int
) -> None:
    """With A in B (in C ...), adding the outermost group into A would nest A in itself."""
    chain = [directory.group()]
    for _ in range(depth):
        chain.append(directory.group(members=[chain[-1].name]))
    inner, outer = chain[0], chain[-1]

    refused(
        lambda: MEMBER_CHANGES[method](directory, inner.name, [outer.name]),
        Code.INVALID_ARGUMENT,
        "INVALID_MEMBER",
    )
    assert directory.get(inner.name) == inner


def test_nesting_without_a_cycle_is_allowed(directory: Directory) -> None:
    """A diamond (D in B and C, both in A) is not a cycle."""
    d = directory.group()
    b, c = directory.group(members=[d.name]), directory.group(members=[d.name])

    a = directory.group(members=[b.name, c.name])

    assert directory.memberships(d.name, transitive=True) == {
        b.name: True,
        c.name: True,
        a.name: False,
    }


LIMITS: dict[str, tuple[Callable[[Directory, str, list[str]], object], int]] = {
    "CreateGroup": (MEMBER_CHANGES["CreateGroup"], 1000),
    "AddMembers": (MEMBER_CHANGES["AddMembers"], 1000),
    "RemoveMembers": (lambda d, group, members: d.remove(group, members), 1000),
    "ReplaceMembers": (MEMBER_CHANGES["ReplaceMembers"], 10_000),
}


@pytest.mark.parametrize(("method", "limit"), LIMITS.values(), ids=LIMITS.keys())
def test_more_members_per_call_than_the_limit_is_resource_exhausted(
    directory: Directory, method: Callable[[Directory, str, list[str]], object], limit: int
) -> None:
    """Beyond the per-call limit is TOO_MANY_ITEMS, with ErrorInfo.metadata["limit"]."""
    group = directory.group()
    names = [missing_user(directory) for _ in range(limit + 1)]

    error = refused(
        lambda: method(directory, group.name, names), Code.RESOURCE_EXHAUSTED, "TOO_MANY_ITEMS"
    )

    assert error_info(error).metadata["limit"] == str(limit)


def test_exactly_the_limit_of_members_per_call_is_accepted(directory: Directory) -> None:
    """1,000 members in one AddMembers call are within the limit."""
    group = directory.group()
    users = [directory.user() for _ in range(3)]
    names = [u.name for u in users] * 333 + [users[0].name]

    assert directory.add(group.name, names).member_count == 3


MEMBER_NAMING: dict[str, Callable[[Directory, str, list[str]], object]] = {
    **MEMBER_CHANGES,
    "RemoveMembers": lambda d, group, members: d.remove(group, members),
}


@pytest.mark.parametrize("method", MEMBER_NAMING.values(), ids=MEMBER_NAMING.keys())
def test_a_member_named_under_another_tenant_is_invalid_argument(
    directory: Directory,
    elsewhere: Directory,
    method: Callable[[Directory, str, list[str]], object],
) -> None:
    """Members must belong to the group's tenant; the name says they do not."""
    group = directory.group()
    theirs = elsewhere.user()

    refused(
        lambda: method(directory, group.name, [theirs.name]), Code.INVALID_ARGUMENT, "INVALID_FIELD"
    )
    assert elsewhere.memberships(theirs.name, transitive=False) == {}


@pytest.mark.parametrize("method", ["AddMembers", "RemoveMembers"])
def test_adding_or_removing_no_member_is_invalid(directory: Directory, method: str) -> None:
    """`members` is REQUIRED in AddMembers and RemoveMembers; ReplaceMembers may empty a group."""
    group = directory.group()
    request_type = gs.AddMembersRequest if method == "AddMembers" else gs.RemoveMembersRequest
    call = getattr(directory.groups, method)
    error = refused(
        lambda: call(request_type(group=group.name), metadata=directory.metadata),
        Code.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    assert "members" in field_violations(error)
