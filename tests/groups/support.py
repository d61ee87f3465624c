"""Calling identity.v1.GroupService in tests: a Directory of one tenant's users
and groups over the blocking stubs, and the error assertion (AIP-193)."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from identity.v1 import (
    group_pb2,
    group_service_pb2,
    group_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

from tests.helpers import TenantAccess, error_info

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

    def modify(
        self,
        group: Group,
        *paths: str,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        replace: bool = False,
        request_id: str = "",
    ) -> Group:
        """ModifyGroup: the fields of `group` named in `paths` (its name and
        etag say which version), and the member changes."""
        request = gs.ModifyGroupRequest(
            group=group,
            update_mask=FieldMask(paths=paths),
            add_members=add,
            remove_members=remove,
            replace_members=replace,
            request_id=request_id,
        )
        return self.groups.ModifyGroup(request, metadata=self.metadata)

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
