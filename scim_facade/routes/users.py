"""/Users (RFC 7644 §3.3-§3.6)."""

from typing import Any

from fastapi import APIRouter, Request, Response

from scim_facade import listing, parsing, preconditions, users
from scim_facade.call import Call
from scim_facade.mapping import users as mapping
from scim_facade.projection import Projection
from scim_facade.responses import ScimResponse, scim
from scim_facade.routes import openapi
from scim_facade.routes.common import ScimRoute, body, if_match, projection, scim_call

router = APIRouter(tags=["Users"], route_class=ScimRoute)


def _answer(call: Call, user: Any, shown: Projection, status: int = 200) -> ScimResponse:
    resource = mapping.to_scim(user, call.base_url)
    location = resource["meta"]["location"] if status == 201 else None
    return scim(shown.apply(resource), status, etag=user.etag, location=location)


async def _list(call: Call, params: listing.ListParams, shown: Projection) -> ScimResponse:
    """One page of users (RFC 7644 §3.4.2), by index or by cursor (RFC 9865)."""
    size = listing.page_size(params, call.settings.max_results)
    page = await users.list_page(
        call,
        listing.identity_filter(params.filter, parsing.UserModel),
        listing.order_by(params),
        size,
        skip=listing.skip(params),
        token=params.cursor or "",
    )
    resources = [shown.apply(mapping.to_scim(u, call.base_url)) for u in page.users[:size]]
    # count=0 reads one user for the total: its page token would skip it.
    cursor = page.next_page_token if size else None
    return scim(listing.response(resources, page.total_size, params, cursor))


@router.get("/Users", openapi_extra=openapi.LIST)
async def list_users(request: Request) -> ScimResponse:
    """List or filter users (RFC 7644 §3.4.2)."""
    call = scim_call(request)
    return await _list(call, listing.from_query(request.query_params), projection(request))


@router.post("/Users/.search", openapi_extra=openapi.SEARCH)
async def search_users(request: Request) -> ScimResponse:
    """Query users with a SearchRequest body (RFC 7644 §3.4.3)."""
    call = scim_call(request)
    params = listing.from_search(await body(request))
    shown = Projection.of(params.attributes, params.excluded_attributes)
    return await _list(call, params, shown)


@router.get("/Users/{user_id}", response_model=None, openapi_extra=openapi.ID["get"])
async def get_user(user_id: str, request: Request) -> Response:
    """One user; 304 when If-None-Match names its current version."""
    call = scim_call(request)
    user = await users.get(call, user_id)
    if preconditions.none_match(request.headers.get("if-none-match", ""), user.etag):
        return Response(status_code=304, headers={"ETag": user.etag})
    return _answer(call, user, projection(request))


@router.post("/Users", status_code=201, openapi_extra=openapi.USER["post"])
async def create_user(request: Request) -> ScimResponse:
    """Create a user (RFC 7644 §3.3); 409 uniqueness if the userName is taken."""
    call = scim_call(request)
    user = await users.create(call, parsing.user(await body(request)))
    return _answer(call, user, projection(request), status=201)


@router.put("/Users/{user_id}", openapi_extra=openapi.USER["put"])
async def replace_user(user_id: str, request: Request) -> ScimResponse:
    """Replace a user (RFC 7644 §3.5.1)."""
    call = scim_call(request)
    user = await users.replace(call, user_id, await body(request), if_match(request))
    return _answer(call, user, projection(request))


@router.patch("/Users/{user_id}", openapi_extra=openapi.PATCH_USER)
async def patch_user(user_id: str, request: Request) -> ScimResponse:
    """Modify a user (RFC 7644 §3.5.2); active=false deactivates."""
    call = scim_call(request)
    user = await users.modify(call, user_id, await body(request), if_match(request))
    return _answer(call, user, projection(request))


@router.delete(
    "/Users/{user_id}",
    status_code=204,
    response_class=Response,
    openapi_extra=openapi.ID["delete"],
)
async def delete_user(user_id: str, request: Request) -> Response:
    """Delete a user (RFC 7644 §3.6): 404 afterwards, userName free again."""
    call = scim_call(request)
    await users.delete(call, user_id, if_match(request))
    return Response(status_code=204)
