"""identity.v1.GroupService over the real server: every RPC's happy path, its
documented errors (AIP-193 ErrorInfo reasons), membership as a delta, soft
delete (AIP-164), etags (AIP-154) and request_id replay (AIP-155)."""

import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.field_mask_pb2 import FieldMask
from identity.v1 import (
    group_pb2,
    group_service_pb2,
    group_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service.store.engine import Database
from identity_service.store.schema import MembershipRow
from tests.helpers import TenantAccess, error_info, field_violations

Code = grpc.StatusCode
Group = group_pb2.Group
gs = group_service_pb2


@dataclass(frozen=True)
class Directory:
    """One tenant's users and groups, over the blocking stubs."""

    users: user_service_pb2_grpc.UserServiceStub
    groups: group_service_pb2_grpc.GroupServiceStub
    tenant: TenantAccess

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return self.tenant.metadata

    def user(self, user_name: str = "", display_name: str = "") -> user_pb2.User:
        user = user_pb2.User(
            user_name=user_name or f"u-{uuid.uuid4().hex[:8]}", display_name=display_name
        )
        request = user_service_pb2.CreateUserRequest(parent=self.tenant.parent, user=user)
        return self.users.CreateUser(request, metadata=self.metadata)

    def group(
        self,
        display_name: str = "",
        members: Sequence[str] = (),
        *,
        external_id: str = "",
        request_id: str = "",
    ) -> Group:
        group = Group(
            display_name=display_name or f"g-{uuid.uuid4().hex[:8]}", external_id=external_id
        )
        request = gs.CreateGroupRequest(
            parent=self.tenant.parent, group=group, members=members, request_id=request_id
        )
        return self.groups.CreateGroup(request, metadata=self.metadata)

    def get(self, name: str, *, show_deleted: bool = False) -> Group:
        request = gs.GetGroupRequest(name=name, show_deleted=show_deleted)
        return self.groups.GetGroup(request, metadata=self.metadata)

    def update(self, group: Group, *paths: str) -> Group:
        request = gs.UpdateGroupRequest(group=group, update_mask=FieldMask(paths=paths))
        return self.groups.UpdateGroup(request, metadata=self.metadata)

    def delete(self, name: str, *, etag: str = "") -> Group:
        request = gs.DeleteGroupRequest(name=name, etag=etag)
        return self.groups.DeleteGroup(request, metadata=self.metadata)

    def undelete(self, name: str, *, etag: str = "") -> Group:
        request = gs.UndeleteGroupRequest(name=name, etag=etag)
        return self.groups.UndeleteGroup(request, metadata=self.metadata)

    def add(
        self, group: str, members: Sequence[str], *, etag: str = "", request_id: str = ""
    ) -> Group:
        request = gs.AddMembersRequest(
            group=group, members=members, etag=etag, request_id=request_id
        )
        return self.groups.AddMembers(request, metadata=self.metadata)

    def remove(self, group: str, members: Sequence[str], *, etag: str = "") -> Group:
        request = gs.RemoveMembersRequest(group=group, members=members, etag=etag)
        return self.groups.RemoveMembers(request, metadata=self.metadata)

    def replace(self, group: str, members: Sequence[str], *, etag: str = "") -> Group:
        request = gs.ReplaceMembersRequest(group=group, members=members, etag=etag)
        return self.groups.ReplaceMembers(request, metadata=self.metadata)

    def members_page(
        self, group: str, page_size: int = 0, page_token: str = ""
    ) -> gs.ListMembersResponse:
        request = gs.ListMembersRequest(parent=group, page_size=page_size, page_token=page_token)
        return self.groups.ListMembers(request, metadata=self.metadata)

    def members(self, group: str, page_size: int = 0) -> list[group_pb2.Member]:
        """Every member, walking the pages."""
        found: list[group_pb2.Member] = []
        token = ""
        while True:
            page = self.members_page(group, page_size, token)
            found.extend(page.members)
            token = page.next_page_token
            if not token:
                return found

    def member_names(self, group: str) -> set[str]:
        return {m.member for m in self.members(group)}

    def memberships(self, member: str, *, transitive: bool, page_size: int = 0) -> dict[str, bool]:
        """Group name -> direct, walking the pages."""
        found: dict[str, bool] = {}
        token = ""
        while True:
            request = gs.ListMembershipsRequest(
                member=member, transitive=transitive, page_size=page_size, page_token=token
            )
            page = self.groups.ListMemberships(request, metadata=self.metadata)
            for membership in page.memberships:
                assert membership.group not in found, "a membership was listed twice"
                found[membership.group] = membership.direct
            token = page.next_page_token
            if not token:
                return found

    def list_groups(self, **fields: object) -> gs.ListGroupsResponse:
        request = gs.ListGroupsRequest(parent=self.tenant.parent, **fields)  # type: ignore[arg-type]
        return self.groups.ListGroups(request, metadata=self.metadata)


@pytest.fixture
def directory(
    users: user_service_pb2_grpc.UserServiceStub,
    groups: group_service_pb2_grpc.GroupServiceStub,
    tenant: TenantAccess,
) -> Directory:
    return Directory(users, groups, tenant)


@pytest.fixture
def elsewhere(
    users: user_service_pb2_grpc.UserServiceStub,
    groups: group_service_pb2_grpc.GroupServiceStub,
    other_tenant: TenantAccess,
) -> Directory:
    """Another tenant's directory."""
    return Directory(users, groups, other_tenant)


def refused(call: Callable[[], object], code: grpc.StatusCode, reason: str) -> grpc.RpcError:
    """Run a call that must fail with `code` and ErrorInfo `reason` (AIP-193)."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = caught.value
    info = error_info(error)
    assert (error.code(), info.reason) == (code, reason), error.details()
    assert info.domain == "roster.identity.v1"
    return error


def missing_user(d: Directory) -> str:
    return f"{d.tenant.parent}/users/{uuid.uuid4()}"


def missing_group(d: Directory) -> str:
    return f"{d.tenant.parent}/groups/{uuid.uuid4()}"


# ---- CreateGroup, GetGroup


def test_a_group_is_created_without_members(directory: Directory) -> None:
    """CreateGroup returns the new group (AIP-133); GetGroup reads it back."""
    created = directory.group("Engineering", external_id="okta-42")

    assert created.name == f"{directory.tenant.parent}/groups/{created.id}"
    assert (created.display_name, created.external_id) == ("Engineering", "okta-42")
    assert (created.member_count, created.etag) == (0, 'W/"1"')
    assert created.create_time.seconds > 0
    assert not created.HasField("delete_time")
    assert directory.get(created.name) == created


def test_a_group_is_created_with_users_and_nested_groups_as_initial_members(
    directory: Directory,
) -> None:
    """CreateGroup's members may be users and groups of the tenant."""
    alice, bob = directory.user(), directory.user()
    nested = directory.group()

    created = directory.group(members=[alice.name, bob.name, nested.name])

    assert created.member_count == 3
    kinds = {m.member: m.type for m in directory.members(created.name)}
    assert kinds == {
        alice.name: group_pb2.Member.USER,
        bob.name: group_pb2.Member.USER,
        nested.name: group_pb2.Member.GROUP,
    }


def test_a_group_is_read_through_the_callers_own_tenant_dash(directory: Directory) -> None:
    """AIP-159: the tenant "-" stands for the caller's own; answers carry the real name."""
    created = directory.group()

    got = directory.get(f"tenants/-/groups/{created.id}")

    assert got.name == created.name


def test_create_group_replays_the_first_answer_for_a_request_id(directory: Directory) -> None:
    """AIP-155: a retried CreateGroup returns the first answer and creates nothing."""
    first = directory.group("Ops", request_id="create-ops")

    again = directory.group("Ops", request_id="create-ops")

    assert again == first
    assert directory.list_groups().total_size == 1


def test_a_request_id_reused_for_another_request_is_invalid(directory: Directory) -> None:
    """AIP-155: one request_id names one request; another one under it is refused."""
    directory.group("Ops", request_id="create-ops")

    refused(
        lambda: directory.group("Sales", request_id="create-ops"),
        Code.INVALID_ARGUMENT,
        "REQUEST_ID_REUSED",
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [("Engineering", "engineering"), ("Straße", "STRASSE"), ("Café", "CAFE\u0301")],
)
def test_a_display_name_taken_in_another_case_is_already_exists(
    directory: Directory, first: str, second: str
) -> None:
    """displayName is unique per tenant after NFC and case folding (RFC 7643 §4.2)."""
    directory.group(first)

    refused(lambda: directory.group(second), Code.ALREADY_EXISTS, "GROUP_NAME_TAKEN")


def test_a_taken_external_id_is_already_exists(directory: Directory) -> None:
    """externalId is unique per tenant among live groups."""
    directory.group(external_id="okta-1")

    refused(lambda: directory.group(external_id="okta-1"), Code.ALREADY_EXISTS, "EXTERNAL_ID_TAKEN")


def test_external_ids_differing_in_case_are_distinct(directory: Directory) -> None:
    """externalId is compared exactly (RFC 7643 §3.1, caseExact)."""
    directory.group(external_id="okta-1")

    assert directory.group(external_id="OKTA-1").external_id == "OKTA-1"


def test_the_same_display_name_in_another_tenant_is_free(
    directory: Directory, elsewhere: Directory
) -> None:
    """Uniqueness is per tenant: every unique index includes the tenant."""
    directory.group("Engineering", external_id="x")

    assert elsewhere.group("Engineering", external_id="x").display_name == "Engineering"


# ---- ListGroups, BatchGetGroups


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


# ---- UpdateGroup


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["display_name"], ("Platform", "okta-1")),
        (["external_id"], ("Engineering", "okta-2")),
        (["*"], ("Platform", "okta-2")),
        (["display_name", "external_id"], ("Platform", "okta-2")),
    ],
)
def test_update_group_replaces_the_fields_in_the_mask(
    directory: Directory, paths: list[str], expected: tuple[str, str]
) -> None:
    """AIP-134: only the fields named in update_mask change; "*" names every field."""
    group = directory.group("Engineering", external_id="okta-1")
    change = Group(name=group.name, display_name="Platform", external_id="okta-2")

    updated = directory.update(change, *paths)

    assert (updated.display_name, updated.external_id) == expected
    assert updated.etag != group.etag
    assert directory.get(group.name) == updated


def test_an_empty_external_id_in_the_mask_clears_it(directory: Directory) -> None:
    """AIP-134: a field in the mask but absent from the resource is cleared."""
    group = directory.group(external_id="okta-1")

    cleared = directory.update(Group(name=group.name), "external_id")

    assert (cleared.display_name, cleared.external_id) == (group.display_name, "")
    assert directory.group(external_id="okta-1").external_id == "okta-1"


def test_an_update_that_changes_nothing_keeps_the_etag(directory: Directory) -> None:
    """No change, no new version (AIP-154)."""
    group = directory.group("Engineering")

    same = directory.update(Group(name=group.name, display_name="Engineering"), "display_name")

    assert same == group


@pytest.mark.parametrize("paths", [[], ["member_count"], ["name"], ["display_name", "etag"]])
def test_an_update_mask_naming_no_updatable_field_is_invalid(
    directory: Directory, paths: list[str]
) -> None:
    """AIP-134: a mask naming a field that cannot be updated is INVALID_UPDATE_MASK."""
    group = directory.group()

    refused(
        lambda: directory.update(Group(name=group.name, display_name="x"), *paths),
        Code.INVALID_ARGUMENT,
        "INVALID_UPDATE_MASK",
    )


def test_renaming_to_a_name_taken_in_another_case_is_already_exists(directory: Directory) -> None:
    """Uniqueness of displayName holds on update too."""
    directory.group("Sales")
    group = directory.group("Engineering")

    refused(
        lambda: directory.update(Group(name=group.name, display_name="SALES"), "display_name"),
        Code.ALREADY_EXISTS,
        "GROUP_NAME_TAKEN",
    )


def test_a_group_can_change_the_case_of_its_own_name(directory: Directory) -> None:
    """A group does not conflict with itself."""
    group = directory.group("engineering")

    updated = directory.update(Group(name=group.name, display_name="Engineering"), "display_name")

    assert updated.display_name == "Engineering"


# ---- DeleteGroup, UndeleteGroup


def test_a_deleted_group_is_not_found_unless_deleted_ones_are_asked_for(
    directory: Directory,
) -> None:
    """AIP-164: a soft-deleted resource is NOT_FOUND, but show_deleted shows it."""
    group = directory.group()

    deleted = directory.delete(group.name)

    assert deleted.HasField("delete_time")
    refused(lambda: directory.get(group.name), Code.NOT_FOUND, "NOT_FOUND")
    assert directory.get(group.name, show_deleted=True) == deleted
    assert directory.list_groups().groups == []
    assert [g.name for g in directory.list_groups(show_deleted=True).groups] == [group.name]


def test_a_deleted_groups_display_name_and_external_id_are_free_again(
    directory: Directory,
) -> None:
    """AIP-164: uniqueness holds among live groups only."""
    group = directory.group("Engineering", external_id="okta-1")
    directory.delete(group.name)

    again = directory.group("ENGINEERING", external_id="okta-1")

    assert again.id != group.id


def test_deleting_a_group_removes_its_memberships_as_container_and_as_member(
    directory: Directory,
) -> None:
    """AIP-164 DeleteGroup empties the group and leaves its parents, with new counts and etags."""
    alice, bob = directory.user(), directory.user()
    child = directory.group(members=[alice.name])
    parent = directory.group(members=[child.name, bob.name])

    directory.delete(child.name)

    after = directory.get(parent.name)
    assert after.member_count == 1
    assert after.etag != parent.etag
    assert directory.member_names(parent.name) == {bob.name}
    assert directory.memberships(alice.name, transitive=True) == {}
    directory.undelete(child.name)
    assert directory.memberships(child.name, transitive=True) == {}
    assert directory.members(child.name) == []


def test_undelete_restores_a_group_with_no_members(directory: Directory) -> None:
    """AIP-164: UndeleteGroup restores the group; its memberships stay removed."""
    alice = directory.user()
    group = directory.group(members=[alice.name])
    directory.delete(group.name)

    restored = directory.undelete(group.name)

    assert not restored.HasField("delete_time")
    assert restored.member_count == 0
    assert directory.get(group.name) == restored
    assert directory.members(group.name) == []


@pytest.mark.parametrize(
    ("display_name", "external_id"), [("engineering", "other"), ("Other", "okta-1")]
)
def test_undeleting_into_a_taken_name_or_external_id_is_a_conflict(
    directory: Directory, display_name: str, external_id: str
) -> None:
    """Undelete may not give a second live group a displayName or externalId."""
    group = directory.group("Engineering", external_id="okta-1")
    directory.delete(group.name)
    directory.group(display_name, external_id=external_id)

    refused(lambda: directory.undelete(group.name), Code.FAILED_PRECONDITION, "UNDELETE_CONFLICT")
    assert directory.get(group.name, show_deleted=True).HasField("delete_time")


def test_undeleting_a_live_group_is_invalid_state(directory: Directory) -> None:
    """AIP-164: only a deleted resource can be undeleted."""
    group = directory.group()

    refused(lambda: directory.undelete(group.name), Code.FAILED_PRECONDITION, "INVALID_STATE")


# ---- NOT_FOUND and ABORTED across the methods

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


# ---- AddMembers, RemoveMembers, ReplaceMembers


def test_add_members_adds_users_and_groups(directory: Directory) -> None:
    """AddMembers adds every named member and counts them."""
    group = directory.group()
    alice, nested = directory.user(), directory.group()

    added = directory.add(group.name, [alice.name, nested.name])

    assert added.member_count == 2
    assert added.etag != group.etag
    assert directory.member_names(group.name) == {alice.name, nested.name}


def test_the_same_member_twice_in_one_call_is_added_once(directory: Directory) -> None:
    """A member named twice is one member."""
    group = directory.group()
    alice = directory.user()

    assert directory.add(group.name, [alice.name, alice.name]).member_count == 1


def test_re_adding_a_member_is_a_no_op(directory: Directory) -> None:
    """Adding a member already there changes nothing, not even the etag."""
    alice = directory.user()
    group = directory.group(members=[alice.name])

    again = directory.add(group.name, [alice.name])

    assert again == group
    assert directory.get(group.name) == group


def test_removing_an_absent_member_is_a_no_op(directory: Directory) -> None:
    """Removing a member that is not there changes nothing, not even the etag."""
    alice, bob = directory.user(), directory.user()
    group = directory.group(members=[alice.name])

    again = directory.remove(group.name, [bob.name, missing_user(directory)])

    assert again == group
    assert directory.member_names(group.name) == {alice.name}


def test_remove_members_removes_them(directory: Directory) -> None:
    """RemoveMembers removes the named members and counts them out."""
    alice, bob, nested = directory.user(), directory.user(), directory.group()
    group = directory.group(members=[alice.name, bob.name, nested.name])

    removed = directory.remove(group.name, [alice.name, nested.name])

    assert removed.member_count == 1
    assert removed.etag != group.etag
    assert directory.member_names(group.name) == {bob.name}


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


def test_a_request_id_replay_of_add_members_returns_the_first_answer(
    directory: Directory,
) -> None:
    """AIP-155: a retried AddMembers returns the first answer and changes nothing."""
    alice, bob = directory.user(), directory.user()
    group = directory.group()
    first = directory.add(group.name, [alice.name], request_id="add-alice")
    latest = directory.add(group.name, [bob.name])

    replayed = directory.add(group.name, [alice.name], request_id="add-alice")

    assert replayed == first
    assert directory.get(group.name) == latest


def test_replace_members_makes_the_list_exactly_the_given_one(directory: Directory) -> None:
    """ReplaceMembers (SCIM PUT, RFC 7644 §3.5.1) leaves exactly the given members."""
    a, b, c, d = (directory.user() for _ in range(4))
    nested = directory.group()
    group = directory.group(members=[a.name, b.name, c.name])

    replaced = directory.replace(group.name, [b.name, c.name, d.name, nested.name])

    assert replaced.member_count == 4
    assert replaced.etag != group.etag
    assert directory.member_names(group.name) == {b.name, c.name, d.name, nested.name}
    assert directory.memberships(a.name, transitive=False) == {}


def test_replace_members_touches_only_the_differences(directory: Directory, db: Database) -> None:
    """Members in both the old and the new list keep their membership row."""
    a, b, c = directory.user(), directory.user(), directory.user()
    group = directory.group(members=[a.name, b.name])
    before = _membership_rows(db, group.id)

    directory.replace(group.name, [b.name, c.name])

    after = _membership_rows(db, group.id)
    assert set(after) == {b.id, c.id}
    assert after[b.id] == before[b.id]


def _membership_rows(db: Database, group_id: str) -> dict[str, object]:
    """member id -> the stored row, as the database holds it."""
    table = MembershipRow.__table__  # type: ignore[attr-defined]
    with db.read() as conn:
        rows = conn.execute(sa.select(table).where(table.c.group_id == group_id)).all()
    return {row.member_id: tuple(row) for row in rows}


def test_replace_members_with_an_empty_list_clears_the_group(directory: Directory) -> None:
    """An empty member list is a valid SCIM PUT: the group ends up empty."""
    group = directory.group(members=[directory.user().name, directory.group().name])

    cleared = directory.replace(group.name, [])

    assert cleared.member_count == 0
    assert directory.members(group.name) == []


def test_replace_members_with_the_same_list_changes_nothing(directory: Directory) -> None:
    """No difference, no new version."""
    alice, bob = directory.user(), directory.user()
    group = directory.group(members=[alice.name, bob.name])

    assert directory.replace(group.name, [bob.name, alice.name]) == group


# ---- ListMembers


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


# ---- ListMemberships


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


# ---- users leaving groups


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


# ---- etags


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


# ---- races


def test_concurrent_creates_of_one_name_in_different_cases_end_with_one_winner(
    directory: Directory,
) -> None:
    """Uniqueness is the database's: racing creates leave one group, the rest GROUP_NAME_TAKEN."""
    names = ["Engineering", "engineering", "ENGINEERING", "EnGiNeErInG"] * 2

    def create(name: str) -> str:
        try:
            directory.group(name)
        except grpc.RpcError as error:
            return str(error_info(error).reason)
        return "OK"

    with ThreadPoolExecutor(len(names)) as pool:
        outcomes = sorted(pool.map(create, names))

    assert outcomes == ["GROUP_NAME_TAKEN"] * (len(names) - 1) + ["OK"]
    assert directory.list_groups().total_size == 1


def test_concurrent_member_changes_keep_the_count_right(directory: Directory) -> None:
    """Racing AddMembers and RemoveMembers leave member_count equal to the members listed."""
    group = directory.group()
    staying = [directory.user().name for _ in range(6)]
    leaving = [directory.user().name for _ in range(6)]
    directory.add(group.name, leaving)

    def change(i: int) -> object:
        if i % 2:
            return directory.add(group.name, [staying[i // 2], leaving[0]])
        return directory.remove(group.name, [leaving[i // 2], staying[0]])

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(change, range(12)))

    listed = directory.member_names(group.name)
    assert directory.get(group.name).member_count == len(listed)


def test_an_invalid_display_name_is_a_violation_of_the_request_field(directory: Directory) -> None:
    """Field violations name the field's path in the request (AIP-193)."""
    error = refused(lambda: directory.group(" padded"), Code.INVALID_ARGUMENT, "INVALID_FIELD")
    assert "group.display_name" in field_violations(error)


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
