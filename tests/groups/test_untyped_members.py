"""Members named without their kind (".../members/{id}", as SCIM members.value
is): identity_service finds whether each id is a user or a group."""

import uuid

from identity.v1 import group_pb2

from tests.groups.support import Code, Directory, refused


def _untyped(d: Directory, resource_id: str) -> str:
    return f"{d.tenant.parent}/members/{resource_id}"


def test_untyped_members_are_added_as_the_users_and_groups_they_are(directory: Directory) -> None:
    """A user id and a group id named under members/ become a USER and a GROUP member."""
    user = directory.user()
    child = directory.group()
    parent = directory.group()
    directory.add(parent.name, [_untyped(directory, user.id), _untyped(directory, child.id)])
    kinds = {m.id: m.type for m in directory.members(parent.name)}
    assert kinds == {user.id: group_pb2.Member.USER, child.id: group_pb2.Member.GROUP}


def test_an_untyped_member_that_does_not_exist_is_invalid_and_changes_nothing(
    directory: Directory,
) -> None:
    """An id of no user and no group is INVALID_MEMBER; the call adds nobody."""
    user = directory.user()
    group = directory.group()
    refused(
        lambda: directory.add(
            group.name, [_untyped(directory, user.id), _untyped(directory, str(uuid.uuid4()))]
        ),
        Code.INVALID_ARGUMENT,
        "INVALID_MEMBER",
    )
    assert directory.members(group.name) == []


def test_an_untyped_group_member_cannot_close_a_cycle(directory: Directory) -> None:
    """The cycle check applies to a group named under members/ too."""
    child = directory.group()
    parent = directory.group(members=[child.name])
    refused(
        lambda: directory.add(child.name, [_untyped(directory, parent.id)]),
        Code.INVALID_ARGUMENT,
        "INVALID_MEMBER",
    )


def test_untyped_members_can_be_removed(directory: Directory) -> None:
    """RemoveMembers takes the same untyped names."""
    user = directory.user()
    group = directory.group(members=[user.name])
    directory.remove(group.name, [_untyped(directory, user.id)])
    assert directory.members(group.name) == []
