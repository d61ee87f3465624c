"""What every method naming a group checks first: the group exists in the
caller's tenant (NOT_FOUND) and a given etag is the current one (AIP-154);
and every membership change makes a new etag."""

import uuid
from collections.abc import Callable

import pytest
from identity.v1 import user_service_pb2

from tests.groups.support import Code, Directory, Group, missing_group, missing_user, refused

BY_NAME: dict[str, Callable[[Directory, str], object]] = {
    "GetGroup": lambda d, name: d.get(name),
    "UpdateGroup": lambda d, name: d.update(Group(name=name, display_name="x"), "display_name"),
    "DeleteGroup": lambda d, name: d.delete(name),
    "UndeleteGroup": lambda d, name: d.undelete(name),
    "AddMembers": lambda d, name: d.add(name, [f"tenants/-/users/{d.user().id}"]),
    "RemoveMembers": lambda d, name: d.remove(name, [f"tenants/-/users/{uuid.uuid4()}"]),
    "ReplaceMembers": lambda d, name: d.replace(name, []),
    "ListMembers": lambda d, name: d.members(name),
    "ListMemberships": lambda d, name: d.memberships(name, transitive=False),
}


@pytest.mark.parametrize("method", BY_NAME.values(), ids=BY_NAME.keys())
def test_a_missing_group_is_not_found(
    directory: Directory, method: Callable[[Directory, str], object]
) -> None:
    """Every method that names a group answers NOT_FOUND for a missing one."""
    refused(lambda: method(directory, missing_group(directory)), Code.NOT_FOUND, "NOT_FOUND")


@pytest.mark.parametrize("method", BY_NAME.values(), ids=BY_NAME.keys())
def test_a_group_of_another_tenant_is_not_found(
    directory: Directory, elsewhere: Directory, method: Callable[[Directory, str], object]
) -> None:
    """A resource of another tenant is indistinguishable from a missing one."""
    theirs = elsewhere.group(members=[elsewhere.user().name])
    if method is BY_NAME["UndeleteGroup"]:
        elsewhere.delete(theirs.name)
    before = elsewhere.get(theirs.name, show_deleted=True)

    refused(lambda: method(directory, theirs.name), Code.NOT_FOUND, "NOT_FOUND")
    assert elsewhere.get(theirs.name, show_deleted=True) == before


CONDITIONAL: dict[str, Callable[[Directory, Group, str], Group]] = {
    "UpdateGroup": lambda d, g, etag: d.update(
        Group(name=g.name, display_name="x", etag=etag), "display_name"
    ),
    "DeleteGroup": lambda d, g, etag: d.delete(g.name, etag=etag),
    "AddMembers": lambda d, g, etag: d.add(g.name, [d.user().name], etag=etag),
    "RemoveMembers": lambda d, g, etag: d.remove(g.name, [missing_user(d)], etag=etag),
    "ReplaceMembers": lambda d, g, etag: d.replace(g.name, [], etag=etag),
}


@pytest.mark.parametrize("method", CONDITIONAL.values(), ids=CONDITIONAL.keys())
def test_a_stale_etag_is_aborted(
    directory: Directory, method: Callable[[Directory, Group, str], Group]
) -> None:
    """AIP-154: an etag in the request must be the current one."""
    group = directory.group(members=[directory.user().name])
    current = directory.add(group.name, [directory.user().name])

    refused(lambda: method(directory, group, group.etag), Code.ABORTED, "ETAG_MISMATCH")
    assert directory.get(group.name) == current


@pytest.mark.parametrize("method", CONDITIONAL.values(), ids=CONDITIONAL.keys())
def test_the_current_etag_is_accepted(
    directory: Directory, method: Callable[[Directory, Group, str], Group]
) -> None:
    """AIP-154: a request carrying the current etag goes through."""
    group = directory.group(members=[directory.user().name])

    assert method(directory, group, group.etag).name == group.name


def test_undelete_with_a_stale_etag_is_aborted(directory: Directory) -> None:
    """AIP-154 on UndeleteGroup: the etag of the deleted version is the current one."""
    group = directory.group()
    deleted = directory.delete(group.name)

    refused(lambda: directory.undelete(group.name, etag=group.etag), Code.ABORTED, "ETAG_MISMATCH")
    assert directory.undelete(group.name, etag=deleted.etag).etag != deleted.etag


def _delete_user(d: Directory, name: str) -> None:
    d.users.DeleteUser(user_service_pb2.DeleteUserRequest(name=name), metadata=d.metadata)


MEMBERSHIP_CHANGES: dict[str, Callable[[Directory, Group, str, str], object]] = {
    "AddMembers": lambda d, g, _user, _nested: d.add(g.name, [d.user().name]),
    "RemoveMembers": lambda d, g, user, _nested: d.remove(g.name, [user]),
    "ReplaceMembers": lambda d, g, user, _nested: d.replace(g.name, [user]),
    "DeleteUser of a member": lambda d, _g, user, _nested: _delete_user(d, user),
    "DeleteGroup of a member": lambda d, _g, _user, nested: d.delete(nested),
}


@pytest.mark.parametrize("change", MEMBERSHIP_CHANGES.values(), ids=MEMBERSHIP_CHANGES.keys())
def test_every_membership_change_makes_a_new_etag(
    directory: Directory, change: Callable[[Directory, Group, str, str], object]
) -> None:
    """AIP-154: membership changes produce a new version of the group."""
    user, nested = directory.user(), directory.group()
    group = directory.group(members=[user.name, nested.name])

    change(directory, group, user.name, nested.name)

    assert directory.get(group.name).etag != group.etag
