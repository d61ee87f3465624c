"""Every mutation appends its change records in its own transaction, with
the right kind, snapshot and changed fields; failures and replays record
nothing (DESIGN.md "Change log")."""

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from tests.changes.support import Log, kinds, snapshot
from tests.groups.support import Directory
from tests.helpers import TenantAccess

UserStub = user_service_pb2_grpc.UserServiceStub


@pytest.fixture
def directory(users: UserStub, groups: object, tenant: TenantAccess) -> Directory:
    return Directory(users, groups, tenant)  # type: ignore[arg-type]


def _update(
    users: UserStub, tenant: TenantAccess, user: user_pb2.User, *paths: str
) -> user_pb2.User:
    request = user_service_pb2.UpdateUserRequest(user=user, update_mask=FieldMask(paths=paths))
    return users.UpdateUser(request, metadata=tenant.metadata)


def test_a_new_tenant_logs_its_creation_and_its_credentials(log: Log) -> None:
    """The log starts at seq 1 with TENANT_CREATED, then the credentials."""
    records = log.all()

    assert kinds(records) == ["TENANT_CREATED", "CREDENTIAL_CREATED", "CREDENTIAL_CREATED"]
    assert [r.seq for r in records] == [1, 2, 3]
    assert all("secret" not in str(snapshot(r)) for r in records)


def test_a_user_lifecycle_is_logged_in_order_with_its_fields(
    log: Log, users: UserStub, tenant: TenantAccess
) -> None:
    """Create, rename, deactivate through UpdateUser, a no-op, reactivate, delete, undelete."""
    start = log.last_cursor()
    user = users.CreateUser(
        user_service_pb2.CreateUserRequest(
            parent=tenant.parent, user=user_pb2.User(user_name="ann")
        ),
        metadata=tenant.metadata,
    )
    user = _update(
        users,
        tenant,
        user_pb2.User(name=user.name, user_name="anne", title="CTO"),
        "user_name",
        "title",
    )
    user = _update(
        users, tenant, user_pb2.User(name=user.name, state=user_pb2.User.DEACTIVATED), "state"
    )
    user = _update(
        users, tenant, user_pb2.User(name=user.name, state=user_pb2.User.DEACTIVATED), "state"
    )
    by_name = user_service_pb2
    users.ReactivateUser(by_name.ReactivateUserRequest(name=user.name), metadata=tenant.metadata)
    users.DeleteUser(by_name.DeleteUserRequest(name=user.name), metadata=tenant.metadata)
    users.UndeleteUser(by_name.UndeleteUserRequest(name=user.name), metadata=tenant.metadata)

    records = log.since(start)

    assert kinds(records) == [
        "USER_CREATED",
        "USER_UPDATED",
        "USER_DEACTIVATED",
        "USER_REACTIVATED",
        "USER_DELETED",
        "USER_UNDELETED",
    ]
    assert {r.resource for r in records} == {user.name}
    assert [r.seq for r in records] == list(range(records[0].seq, records[0].seq + 6))
    assert snapshot(records[0])["user_name"] == "ann"
    assert list(records[1].changed_fields) == ["title", "user_name"]
    assert snapshot(records[1])["user_name"] == "anne"
    assert "state" in records[2].changed_fields
    assert snapshot(records[2])["state"] == "DEACTIVATED"
    assert set(snapshot(records[4])) == {"id", "delete_time"}, "a delete logs a tombstone"


def test_modify_group_logs_one_record_per_member_added_or_removed(
    log: Log, directory: Directory
) -> None:
    """ModifyGroup: GROUP_UPDATED for the fields, one MEMBER_* per member that changed."""
    ann, bob, cy = directory.user(), directory.user(), directory.user()
    group = directory.group(members=[ann.name, bob.name])
    start = log.last_cursor()

    renamed = group.__class__(name=group.name, display_name="Renamed")
    directory.modify(renamed, "display_name", add=[cy.name, ann.name], remove=[bob.name])
    records = log.since(start)

    assert kinds(records) == ["GROUP_UPDATED", "MEMBER_REMOVED", "MEMBER_ADDED"]
    assert [snapshot(r).get("member") for r in records[1:]] == [bob.name, cy.name]
    assert all(r.resource == group.name for r in records)
    assert list(records[0].changed_fields) == ["display_name"]


def test_a_group_created_with_members_logs_each_member(log: Log, directory: Directory) -> None:
    """CreateGroup with members: GROUP_CREATED, then one MEMBER_ADDED each."""
    ann, bob = directory.user(), directory.user()
    start = log.last_cursor()

    directory.group(members=[ann.name, bob.name])

    assert kinds(log.since(start)) == ["GROUP_CREATED", "MEMBER_ADDED", "MEMBER_ADDED"]


def test_deleting_a_user_logs_the_groups_it_leaves(
    log: Log, directory: Directory, users: UserStub
) -> None:
    """DeleteUser: USER_DELETED, and MEMBER_REMOVED of each of its groups, together."""
    ann = directory.user()
    first, second = directory.group(members=[ann.name]), directory.group(members=[ann.name])
    start = log.last_cursor()

    users.DeleteUser(user_service_pb2.DeleteUserRequest(name=ann.name), metadata=directory.metadata)
    records = log.since(start)

    assert kinds(records) == ["USER_DELETED", "MEMBER_REMOVED", "MEMBER_REMOVED"]
    assert {r.resource for r in records[1:]} == {first.name, second.name}
    assert len({r.commit_time.ToDatetime() for r in records}) == 1


def test_a_failed_mutation_logs_nothing(log: Log, directory: Directory, users: UserStub) -> None:
    """A uniqueness conflict and a stale etag roll the log back with the change."""
    ann = directory.user("taken")
    start = log.last_cursor()

    with pytest.raises(grpc.RpcError):
        directory.user("taken")
    stale = user_pb2.User(name=ann.name, title="x", etag='W/"99"')
    with pytest.raises(grpc.RpcError):
        _update(users, directory.tenant, stale, "title")

    assert log.since(start) == []


def test_a_request_id_replay_logs_nothing(log: Log, directory: Directory) -> None:
    """AIP-155: the retried call answers from the record and changes nothing."""
    ann = directory.user()
    group = directory.group()
    start = log.last_cursor()

    directory.add(group.name, [ann.name], request_id="add-ann")
    directory.add(group.name, [ann.name], request_id="add-ann")
    records = log.since(start)

    assert kinds(records) == ["MEMBER_ADDED"]
    assert records[0].request_id == "add-ann"
