"""Membership read both ways: ListMembers (a group's members, RFC 7643 §4.2)
and ListMemberships (a member's groups, §4.1.2), and users leaving groups."""

from identity.v1 import user_service_pb2

from tests.groups.support import Code, Directory, missing_user, refused


def test_a_paged_walk_of_the_members_visits_every_member_once(directory: Directory) -> None:
    """AIP-158: pages neither skip nor repeat a member; total_size counts them all."""
    names = [directory.user().name for _ in range(5)] + [directory.group().name for _ in range(2)]
    group = directory.group(members=names)
    seen: list[str] = []
    token = ""
    while True:
        page = directory.members_page(group.name, page_size=3, page_token=token)
        assert page.total_size == 7
        assert len(page.members) <= 3
        seen.extend(m.member for m in page.members)
        token = page.next_page_token
        if not token:
            break

    assert sorted(seen) == sorted(names)


def test_member_display_is_the_display_name_or_user_name(directory: Directory) -> None:
    """RFC 7643 §4.2 members.display: a user's displayName or userName, a group's displayName."""
    named = directory.user("bjensen", "Barbara Jensen")
    unnamed = directory.user("jsmith")
    nested = directory.group("Admins")
    group = directory.group(members=[named.name, unnamed.name, nested.name])

    shown = {m.member: (m.id, m.display) for m in directory.members(group.name)}

    assert shown == {
        named.name: (named.id, "Barbara Jensen"),
        unnamed.name: (unnamed.id, "jsmith"),
        nested.name: (nested.id, "Admins"),
    }


def test_a_page_token_of_another_group_is_invalid(directory: Directory) -> None:
    """AIP-158: a page token is bound to the request that issued it."""
    a = directory.group(members=[directory.user().name for _ in range(2)])
    b = directory.group(members=[directory.user().name for _ in range(2)])
    token = directory.members_page(a.name, page_size=1).next_page_token

    refused(
        lambda: directory.members_page(b.name, page_size=1, page_token=token),
        Code.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
    )


def test_memberships_of_a_user_are_direct_or_through_nested_groups(
    directory: Directory,
) -> None:
    """RFC 7643 §4.1.2 User.groups: each group once, direct if the user is in it directly."""
    alice = directory.user()
    a = directory.group(members=[alice.name])
    b = directory.group(members=[a.name])
    c = directory.group(members=[b.name, alice.name])
    d = directory.group(members=[c.name])
    directory.group(members=[directory.user().name])

    assert directory.memberships(alice.name, transitive=False) == {a.name: True, c.name: True}
    assert directory.memberships(alice.name, transitive=True) == {
        a.name: True,
        b.name: False,
        c.name: True,
        d.name: False,
    }


def test_memberships_of_a_group_are_direct_or_through_nested_groups(
    directory: Directory,
) -> None:
    """ListMemberships names the groups a group is in, as for a user."""
    inner = directory.group()
    middle = directory.group(members=[inner.name])
    outer = directory.group(members=[middle.name])

    assert directory.memberships(inner.name, transitive=False) == {middle.name: True}
    assert directory.memberships(inner.name, transitive=True) == {
        middle.name: True,
        outer.name: False,
    }
    assert directory.memberships(outer.name, transitive=True) == {}


def test_memberships_are_walked_by_page(directory: Directory) -> None:
    """AIP-158 on ListMemberships: one group per page still lists each once."""
    alice = directory.user()
    direct = [directory.group(members=[alice.name]) for _ in range(3)]
    outer = directory.group(members=[direct[0].name])

    found = directory.memberships(alice.name, transitive=True, page_size=1)

    assert found == {**{g.name: True for g in direct}, outer.name: False}


def test_memberships_of_a_missing_user_are_not_found(directory: Directory) -> None:
    """ListMemberships answers NOT_FOUND for a member that does not exist."""
    refused(
        lambda: directory.memberships(missing_user(directory), transitive=True),
        Code.NOT_FOUND,
        "NOT_FOUND",
    )


def test_deleting_a_user_removes_it_from_its_groups(directory: Directory) -> None:
    """DeleteUser takes the user out of every group, with new member counts and etags."""
    alice, bob = directory.user(), directory.user()
    first = directory.group(members=[alice.name, bob.name])
    second = directory.group(members=[alice.name])

    directory.users.DeleteUser(
        user_service_pb2.DeleteUserRequest(name=alice.name), metadata=directory.metadata
    )

    after_first, after_second = directory.get(first.name), directory.get(second.name)
    assert (after_first.member_count, after_second.member_count) == (1, 0)
    assert after_first.etag != first.etag
    assert after_second.etag != second.etag
    assert directory.member_names(first.name) == {bob.name}
    assert directory.members(second.name) == []


def test_a_deactivated_user_stays_a_member(directory: Directory) -> None:
    """Deactivation (active=false) is not deletion: memberships stay."""
    alice = directory.user()
    group = directory.group(members=[alice.name])

    directory.users.DeactivateUser(
        user_service_pb2.DeactivateUserRequest(name=alice.name), metadata=directory.metadata
    )

    assert directory.get(group.name) == group
    assert directory.member_names(group.name) == {alice.name}
    assert directory.memberships(alice.name, transitive=False) == {group.name: True}
