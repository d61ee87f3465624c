"""SCIM operations on Groups, each one identity.v1 call (the reads of
members aside: a group with its first page of members is one ListMembers).

Membership is a delta (DESIGN.md): PUT and PATCH become one ModifyGroup each,
conditional on the If-Match etag, so a change applies all or none and the
member list is never read to be rewritten. Members are read only to answer,
page by page (ListMembers, MEMBER_PAGE at a time), and only when the answer
shows them."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from identity.v1 import group_pb2, group_service_pb2

from scim_facade import group_patch, listing
from scim_facade.call import Call
from scim_facade.mapping import groups as mapping

# Members read per ListMembers call, and the most a response holds at once:
# a group of 100,000 is fifty calls, and 16 streams of it stay within a few MB.
MEMBER_PAGE = 2_000
# The first page of a group read with its members: most groups fit in it,
# and identity_service answers a page this small on its event loop.
FIRST_MEMBER_PAGE = 100
_FIELDS = ("display_name", "external_id")


def name(group_id: str) -> str:
    return f"tenants/-/groups/{group_id}"


async def get(call: Call, group_id: str) -> group_pb2.Group:
    request = group_service_pb2.GetGroupRequest(name=name(group_id))
    return await call.rpc(call.client.groups.GetGroup, request)


async def create(call: Call, resource: dict[str, Any], members: list[str]) -> group_pb2.Group:
    """POST (RFC 7644 §3.3): the group and its initial members at once."""
    request = group_service_pb2.CreateGroupRequest(
        parent="tenants/-", group=mapping.to_proto(resource), members=members
    )
    return await call.rpc(call.client.groups.CreateGroup, request)


async def replace(
    call: Call, group_id: str, resource: dict[str, Any], members: list[str], if_match: str
) -> group_pb2.Group:
    """PUT (RFC 7644 §3.5.1): displayName, externalId and the member list
    replaced in one ModifyGroup; an attribute left out is cleared, as a full
    replacement does, so a PUT without members empties the group."""
    group = mapping.to_proto(resource)
    group.name, group.etag = name(group_id), if_match
    request = group_service_pb2.ModifyGroupRequest(
        group=group,
        update_mask=FieldMask(paths=_FIELDS),
        add_members=members,
        replace_members=True,
    )
    return await call.rpc(call.client.groups.ModifyGroup, request)


async def modify(
    call: Call, group_id: str, operations: dict[str, Any], if_match: str
) -> group_pb2.Group:
    """PATCH (RFC 7644 §3.5.2): every operation in one ModifyGroup, so they
    apply all or none; see scim_facade.group_patch."""
    request = group_patch.request(operations)
    request.group.name, request.group.etag = name(group_id), if_match
    return await call.rpc(call.client.groups.ModifyGroup, request)


async def delete(call: Call, group_id: str, if_match: str) -> None:
    request = group_service_pb2.DeleteGroupRequest(name=name(group_id), etag=if_match)
    await call.rpc(call.client.groups.DeleteGroup, request)


async def list_page(
    call: Call, expression: str, order_by: str, size: int, skip: int, token: str
) -> group_service_pb2.ListGroupsResponse:
    request = group_service_pb2.ListGroupsRequest(
        **listing.list_request(expression, order_by, size, skip, token)
    )
    return await call.rpc(call.client.groups.ListGroups, request)


Pages = AsyncIterator[Sequence[group_pb2.Member]]


async def _members_page(
    call: Call, group_id: str, token: str
) -> group_service_pb2.ListMembersResponse:
    size = MEMBER_PAGE if token else FIRST_MEMBER_PAGE
    request = group_service_pb2.ListMembersRequest(
        parent=name(group_id), page_size=size, page_token=token
    )
    return await call.rpc(call.client.groups.ListMembers, request)


async def _pages_from(
    call: Call, group_id: str, page: group_service_pb2.ListMembersResponse
) -> Pages:
    while True:
        yield page.members
        if not page.next_page_token:
            return
        page = await _members_page(call, group_id, page.next_page_token)


async def with_members(call: Call, group_id: str) -> tuple[group_pb2.Group, Pages]:
    """The group and its members page by page (at least one page, possibly
    empty); the group and the first page come from one call, one read."""
    first = await _members_page(call, group_id, "")
    return first.group, _pages_from(call, group_id, first)


async def member_pages(call: Call, group_id: str) -> Pages:
    """The group's members, one ListMembers page at a time (at least one
    page, possibly empty), so no caller holds more than a page."""
    first = await _members_page(call, group_id, "")
    async for page in _pages_from(call, group_id, first):
        yield page
