"""identity.v1.GroupService: adapts requests to the Groups use cases."""

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from identity.v1 import group_pb2, group_service_pb2, group_service_pb2_grpc

from identity_service.domain.errors import InvalidField, InvalidUpdateMask
from identity_service.domain.models import Group
from identity_service.service.groups import Groups, Modification
from identity_service.service.membership import Delta, MemberChange, Replacement
from identity_service.servicers import convert, names
from identity_service.servicers.interceptor import caller, own_tenant
from identity_service.servicers.lanes import SMALL_PAGE, Lanes

Context = grpc.aio.ServicerContext[Any, Any]
_UPDATABLE = ("display_name", "external_id")


class _ByName(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def etag(self) -> str: ...
    @property
    def request_id(self) -> str: ...


class _MemberChange(Protocol):
    @property
    def group(self) -> str: ...
    @property
    def members(self) -> Sequence[str]: ...
    @property
    def etag(self) -> str: ...
    @property
    def request_id(self) -> str: ...


class GroupServicer(group_service_pb2_grpc.GroupServiceServicer):
    def __init__(self, groups: Groups, lanes: Lanes) -> None:
        self._groups = groups
        self._lanes = lanes

    async def GetGroup(
        self, request: group_service_pb2.GetGroupRequest, context: Context
    ) -> group_pb2.Group:
        slug, group_id = names.child(request.name, "groups")
        group = await self._lanes.lookup(
            self._groups.get, caller(), slug, group_id, show_deleted=request.show_deleted
        )
        return convert.group(group)

    async def ListGroups(
        self, request: group_service_pb2.ListGroupsRequest, context: Context
    ) -> group_service_pb2.ListGroupsResponse:
        query = convert.list_query(request)
        slug = names.tenant(request.parent)
        lane = self._lanes.lookup if self._groups.is_key_lookup(query) else self._lanes.read
        page = await lane(self._groups.list, caller(), slug, query)
        return group_service_pb2.ListGroupsResponse(
            groups=[convert.group(g) for g in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size or 0,
            change_cursor=page.change_cursor,
        )

    async def BatchGetGroups(
        self, request: group_service_pb2.BatchGetGroupsRequest, context: Context
    ) -> group_service_pb2.BatchGetGroupsResponse:
        slug = own_tenant(names.tenant(request.parent))
        ids = [names.child_of(slug, name, "groups", "names") for name in request.names]
        found = await self._lanes.lookup(self._groups.batch_get, caller(), slug, ids)
        return group_service_pb2.BatchGetGroupsResponse(groups=[convert.group(g) for g in found])

    async def CreateGroup(
        self, request: group_service_pb2.CreateGroupRequest, context: Context
    ) -> group_pb2.Group:
        slug = own_tenant(names.tenant(request.parent))
        members = [names.member(m, slug) for m in request.members]
        with convert.fields_of("group"):
            group = await self._lanes.write(
                self._groups.create,
                caller(),
                slug,
                request.group.display_name,
                request.group.external_id or None,
                members,
                request.request_id,
            )
        return convert.group(group)

    async def UpdateGroup(
        self, request: group_service_pb2.UpdateGroupRequest, context: Context
    ) -> group_pb2.Group:
        slug, group_id = names.child(request.group.name, "groups", field="group.name")
        paths = _mask_paths(request.update_mask, required=True)
        with convert.fields_of("group"):
            group = await self._lanes.write(
                self._groups.update,
                caller(),
                slug,
                group_id,
                display_name=request.group.display_name if "display_name" in paths else None,
                external_id=request.group.external_id if "external_id" in paths else None,
                etag=request.group.etag,
                request_id=request.request_id,
            )
        return convert.group(group)

    async def DeleteGroup(
        self, request: group_service_pb2.DeleteGroupRequest, context: Context
    ) -> group_pb2.Group:
        return await self._by_name(self._groups.delete, request)

    async def UndeleteGroup(
        self, request: group_service_pb2.UndeleteGroupRequest, context: Context
    ) -> group_pb2.Group:
        return await self._by_name(self._groups.undelete, request)

    async def AddMembers(
        self, request: group_service_pb2.AddMembersRequest, context: Context
    ) -> group_pb2.Group:
        _required_members(request.members)
        return await self._members(self._groups.add_members, request)

    async def RemoveMembers(
        self, request: group_service_pb2.RemoveMembersRequest, context: Context
    ) -> group_pb2.Group:
        slug, group_id = names.child(request.group, "groups", field="group")
        _required_members(request.members)
        slug = own_tenant(slug)
        ids = [names.member(m, slug).id for m in request.members]
        group = await self._lanes.write(
            self._groups.remove_members,
            caller(),
            slug,
            group_id,
            ids,
            etag=request.etag,
            request_id=request.request_id,
        )
        return convert.group(group)

    async def ReplaceMembers(
        self, request: group_service_pb2.ReplaceMembersRequest, context: Context
    ) -> group_pb2.Group:
        return await self._members(self._groups.replace_members, request)

    async def ModifyGroup(
        self, request: group_service_pb2.ModifyGroupRequest, context: Context
    ) -> group_pb2.Group:
        slug, group_id = names.child(request.group.name, "groups", field="group.name")
        slug = own_tenant(slug)
        paths = _mask_paths(request.update_mask, required=False)
        change = Modification(
            display_name=request.group.display_name if "display_name" in paths else None,
            external_id=request.group.external_id if "external_id" in paths else None,
            members=_member_change(request, slug),
        )
        with convert.fields_of("group"):
            group = await self._lanes.write(
                self._groups.modify,
                caller(),
                slug,
                group_id,
                change,
                etag=request.group.etag,
                request_id=request.request_id,
            )
        return convert.group(group)

    async def ListMembers(
        self, request: group_service_pb2.ListMembersRequest, context: Context
    ) -> group_service_pb2.ListMembersResponse:
        slug, group_id = names.child(request.parent, "groups", field="parent")
        slug = own_tenant(slug)
        small = 0 < request.page_size <= SMALL_PAGE
        lane = self._lanes.lookup if small else self._lanes.read
        group, page = await lane(
            self._groups.list_members,
            caller(),
            slug,
            group_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return group_service_pb2.ListMembersResponse(
            members=[convert.member(slug, m) for m in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size or 0,
            change_cursor=page.change_cursor,
            group=convert.group(group),
        )

    async def ListMemberships(
        self, request: group_service_pb2.ListMembershipsRequest, context: Context
    ) -> group_service_pb2.ListMembershipsResponse:
        slug = own_tenant(names.tenant_of_member(request.member))
        member = names.member(request.member, slug, field="member")
        page = await self._lanes.read(
            self._groups.list_memberships,
            caller(),
            slug,
            member,
            transitive=request.transitive,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return group_service_pb2.ListMembershipsResponse(
            memberships=[convert.membership(slug, m) for m in page.items],
            next_page_token=page.next_page_token,
        )

    async def _by_name(self, use_case: Callable[..., Group], request: _ByName) -> group_pb2.Group:
        slug, group_id = names.child(request.name, "groups")
        group = await self._lanes.write(
            use_case, caller(), slug, group_id, etag=request.etag, request_id=request.request_id
        )
        return convert.group(group)

    async def _members(
        self, use_case: Callable[..., Group], request: _MemberChange
    ) -> group_pb2.Group:
        slug, group_id = names.child(request.group, "groups", field="group")
        slug = own_tenant(slug)
        refs = [names.member(m, slug) for m in request.members]
        group = await self._lanes.write(
            use_case,
            caller(),
            slug,
            group_id,
            refs,
            etag=request.etag,
            request_id=request.request_id,
        )
        return convert.group(group)


def _required_members(members: Sequence[str]) -> None:
    if not members:
        raise InvalidField.of("members", "name at least one member")


def _mask_paths(mask: FieldMask, *, required: bool) -> set[str]:
    """The group fields an update mask names (AIP-134); "*" names them all."""
    paths = set(mask.paths)
    if "*" in paths:
        paths = set(_UPDATABLE)
    if (required and not paths) or paths - set(_UPDATABLE):
        raise InvalidUpdateMask(f'update_mask may name {", ".join(_UPDATABLE)} or "*"')
    return paths


def _member_change(request: group_service_pb2.ModifyGroupRequest, slug: str) -> MemberChange:
    add = [names.member(m, slug, field="add_members") for m in request.add_members]
    remove = [names.member(m, slug, field="remove_members").id for m in request.remove_members]
    if not request.replace_members:
        return Delta(add=add, remove=remove)
    if remove:
        raise InvalidField.of("remove_members", "must be empty with replace_members")
    return Replacement(add)
