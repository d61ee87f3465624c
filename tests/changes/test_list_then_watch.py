"""List responses carry the change cursor of the snapshot they read, so a
consumer lists, then watches from that cursor, and misses nothing."""

import threading

import pytest
from identity.v1 import (
    group_service_pb2,
    group_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from tests.changes.support import Change, Log
from tests.groups.support import Directory
from tests.helpers import TenantAccess


@pytest.fixture
def directory(
    users: user_service_pb2_grpc.UserServiceStub,
    groups: group_service_pb2_grpc.GroupServiceStub,
    tenant: TenantAccess,
) -> Directory:
    return Directory(users, groups, tenant)


def _list_users(directory: Directory) -> user_service_pb2.ListUsersResponse:
    request = user_service_pb2.ListUsersRequest(parent=directory.tenant.parent, page_size=1000)
    return directory.users.ListUsers(request, metadata=directory.metadata)


def _cursor(directory: Directory, listing: str, group: str) -> str:
    """The change_cursor of one List call: of users, groups or a group's members."""
    metadata, parent = directory.metadata, directory.tenant.parent
    if listing == "users":
        return _list_users(directory).change_cursor
    if listing == "groups":
        request = group_service_pb2.ListGroupsRequest(parent=parent)
        return directory.groups.ListGroups(request, metadata=metadata).change_cursor
    members = group_service_pb2.ListMembersRequest(parent=group)
    return directory.groups.ListMembers(members, metadata=metadata).change_cursor


@pytest.mark.parametrize("listing", ["users", "groups", "members"])
def test_a_list_carries_the_cursor_of_the_last_change_it_saw(
    log: Log, directory: Directory, listing: str
) -> None:
    """With no writer about, the cursor is the log's last record."""
    group = directory.group(members=[directory.user().name])

    assert _cursor(directory, listing, group.name) == log.last_cursor()


def test_list_then_watch_converges_with_concurrent_writers(log: Log, directory: Directory) -> None:
    """Users listed, plus users created after the list's cursor, are every user."""
    writers = [
        threading.Thread(target=lambda: [directory.user() for _ in range(10)]) for _ in range(3)
    ]
    for writer in writers:
        writer.start()
    listed = _list_users(directory)
    with log.watch(start_cursor=listed.change_cursor) as stream:
        for writer in writers:
            writer.join()
        known = {u.name for u in listed.users}
        while len(known) < 30:
            created = stream.changes(1)[0]
            assert created.kind == Change.USER_CREATED
            known.add(created.resource)

    assert known == {u.name for u in _list_users(directory).users}
    assert len(known) == 30
