"""/Groups (RFC 7644 §3.3-§3.6).

A group's members are read (ListMembers) only when the answer shows them
(`excludedAttributes=members` never reads them). A group whose members fit
one ListMembers page is answered as any resource; a larger one, and a list
page showing members, is streamed: the group, then its members page by
page, so the facade never holds more than one page of members. An error
after the answer has started (a group deleted while it is being read)
can only cut the stream short; the IdP sees a broken body and retries."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from identity.v1 import group_pb2
from scim2_models import Group

from scim_facade import groups, listing, parsing, preconditions
from scim_facade.call import Call
from scim_facade.mapping import groups as mapping
from scim_facade.projection import Projection
from scim_facade.responses import SCIM_JSON, ScimResponse, scim
from scim_facade.routes import openapi
from scim_facade.routes.common import ScimRoute, body, if_match, projection, scim_call

router = APIRouter(tags=["Groups"], route_class=ScimRoute)
_Entries = list[dict[str, Any]]


def _projected(shown: Projection, members: Sequence[group_pb2.Member], base_url: str) -> _Entries:
    """One page of members as the request asks to see them (members.value, ...)."""
    entries = mapping.members_to_scim(members, base_url)
    shell = {"schemas": [mapping.GROUP_SCHEMA], "id": "", "members": entries}
    projected: _Entries = shown.apply(shell).get("members") or []
    return projected


async def _entry_pages(
    shown: Projection, pages: groups.Pages, base_url: str
) -> AsyncIterator[_Entries]:
    async for members in pages:
        yield _projected(shown, members, base_url)


async def _then(first: _Entries, rest: AsyncIterator[_Entries]) -> AsyncIterator[_Entries]:
    yield first
    async for page in rest:
        yield page


async def _streamed(head: dict[str, Any], pages: AsyncIterator[_Entries]) -> AsyncIterator[bytes]:
    """A group's JSON: its other attributes, then its members page by page."""
    yield orjson.dumps(head)[:-1] + b',"members":['
    separator = b""
    async for page in pages:
        if page:
            yield separator + orjson.dumps(page)[1:-1]
            separator = b","
    yield b"]}"


async def _listed(call: Call, group: group_pb2.Group, shown: Projection) -> AsyncIterator[bytes]:
    """One group of a list page, its members streamed when shown."""
    head = shown.apply(mapping.to_scim(group, call.base_url, None))
    if not shown.includes("members") or group.member_count == 0:
        yield orjson.dumps(head)
        return
    pages = groups.member_pages(call, group.id)
    async for chunk in _streamed(head, _entry_pages(shown, pages, call.base_url)):
        yield chunk


async def _answer(
    call: Call,
    group: group_pb2.Group,
    shown: Projection,
    status: int = 200,
    pages: groups.Pages | None = None,
) -> Response:
    """The group as the request asks to see it, with ETag (and Location on
    201); its members from `pages` when the read has begun."""
    headers = {"ETag": group.etag}
    if status == 201:
        headers["Location"] = f"{call.base_url}/Groups/{group.id}"
    if not shown.includes("members") or group.member_count == 0:
        resource = mapping.to_scim(group, call.base_url, None)
        return ScimResponse(shown.apply(resource), status_code=status, headers=headers)
    if pages is None:
        pages = groups.member_pages(call, group.id)
    if group.member_count <= groups.MEMBER_PAGE:
        members = [member async for page in pages for member in page]
        resource = mapping.to_scim(group, call.base_url, members)
        return ScimResponse(shown.apply(resource), status_code=status, headers=headers)
    entries = _entry_pages(shown, pages, call.base_url)
    # The first page is read before answering, so a missing group is a 404.
    first = await anext(entries)
    head = shown.apply(mapping.to_scim(group, call.base_url, None))
    content = _streamed(head, _then(first, entries))
    return StreamingResponse(content, status, headers, media_type=SCIM_JSON)


async def _page_body(
    envelope: dict[str, Any], chunks: list[AsyncIterator[bytes]]
) -> AsyncIterator[bytes]:
    yield orjson.dumps(envelope)[:-1] + b',"Resources":['
    for index, group in enumerate(chunks):
        if index:
            yield b","
        async for chunk in group:
            yield chunk
    yield b"]}"


async def _list(call: Call, params: listing.ListParams, shown: Projection) -> Response:
    """One page of groups (RFC 7644 §3.4.2), by index or by cursor (RFC 9865);
    streamed when members are shown, each group's read as it is written."""
    size = listing.page_size(params, call.settings.max_results)
    page = await groups.list_page(
        call,
        listing.identity_filter(params.filter, Group),
        listing.order_by(params),
        size,
        skip=listing.skip(params),
        token=params.cursor or "",
    )
    found = page.groups[:size]
    # count=0 reads one group for the total: its page token would skip it.
    cursor = page.next_page_token if size else None
    if not shown.includes("members") or not any(g.member_count for g in found):
        heads = [shown.apply(mapping.to_scim(g, call.base_url, None)) for g in found]
        return scim(listing.response(heads, page.total_size, params, cursor))
    # The envelope as listing writes it, its Resources written here.
    envelope = listing.response([{}] * len(found), page.total_size, params, cursor)
    del envelope["Resources"]
    content = _page_body(envelope, [_listed(call, g, shown) for g in found])
    return StreamingResponse(content, media_type=SCIM_JSON)


def _not_modified(request: Request, etag: str) -> bool:
    return preconditions.none_match(request.headers.get("if-none-match", ""), etag)


@router.get("/Groups", response_model=None, openapi_extra=openapi.LIST)
async def list_groups(request: Request) -> Response:
    """List or filter groups (RFC 7644 §3.4.2)."""
    call = scim_call(request)
    return await _list(call, listing.from_query(request.query_params), projection(request))


@router.post("/Groups/.search", response_model=None, openapi_extra=openapi.SEARCH)
async def search_groups(request: Request) -> Response:
    """Query groups with a SearchRequest body (RFC 7644 §3.4.3)."""
    call = scim_call(request)
    params = listing.from_search(await body(request))
    shown = Projection.of(params.attributes, params.excluded_attributes)
    return await _list(call, params, shown)


@router.get("/Groups/{group_id}", response_model=None, openapi_extra=openapi.ID["get"])
async def get_group(group_id: str, request: Request) -> Response:
    """One group; 304 when If-None-Match names its current version."""
    call = scim_call(request)
    shown = projection(request)
    pages = None
    if shown.includes("members"):
        group, pages = await groups.with_members(call, group_id)
    else:
        group = await groups.get(call, group_id)
    if _not_modified(request, group.etag):
        return Response(status_code=304, headers={"ETag": group.etag})
    return await _answer(call, group, shown, pages=pages)


@router.post("/Groups", status_code=201, response_model=None, openapi_extra=openapi.GROUP["post"])
async def create_group(request: Request) -> Response:
    """Create a group with its members (RFC 7644 §3.3); 409 uniqueness if
    the displayName is taken, in any case."""
    call = scim_call(request)
    fields, members = mapping.without_members(await body(request))
    group = await groups.create(call, parsing.group(fields), members)
    return await _answer(call, group, projection(request), status=201)


@router.put("/Groups/{group_id}", response_model=None, openapi_extra=openapi.GROUP["put"])
async def replace_group(group_id: str, request: Request) -> Response:
    """Replace a group, its member list included (RFC 7644 §3.5.1)."""
    call = scim_call(request)
    fields, members = mapping.without_members(await body(request))
    resource = parsing.group(fields, replace=True)
    group = await groups.replace(call, group_id, resource, members, if_match(request))
    return await _answer(call, group, projection(request))


@router.patch("/Groups/{group_id}", response_model=None, openapi_extra=openapi.PATCH_GROUP)
async def patch_group(group_id: str, request: Request) -> Response:
    """Modify a group (RFC 7644 §3.5.2), all operations or none. 204 No
    Content with the new ETag, as Okta and Entra ID expect for membership
    changes: echoing a group of 100,000 members would cost more than the
    change. 200 with the group when `attributes`/`excludedAttributes` ask
    for it."""
    call = scim_call(request)
    group = await groups.modify(call, group_id, await body(request), if_match(request))
    shown = projection(request)
    if not shown.asked:
        return Response(status_code=204, headers={"ETag": group.etag})
    return await _answer(call, group, shown)


@router.delete(
    "/Groups/{group_id}",
    status_code=204,
    response_class=Response,
    openapi_extra=openapi.ID["delete"],
)
async def delete_group(group_id: str, request: Request) -> Response:
    """Delete a group (RFC 7644 §3.6): 404 afterwards."""
    call = scim_call(request)
    await groups.delete(call, group_id, if_match(request))
    return Response(status_code=204)
