"""POST /.search at the root (RFC 7644 §3.4.3): a query across resource types."""

from fastapi import APIRouter, Request

from scim_facade import listing, search
from scim_facade.projection import Projection
from scim_facade.responses import ScimResponse, scim
from scim_facade.routes import openapi
from scim_facade.routes.common import body, scim_call

router = APIRouter(tags=["Search"])


@router.post("/.search", openapi_extra=openapi.SEARCH)
async def search_all(request: Request) -> ScimResponse:
    """Query Users and Groups with one SearchRequest body (RFC 7644 §3.4.3)."""
    call = scim_call(request)
    params = listing.from_search(await body(request))
    shown = Projection.of(params.attributes, params.excluded_attributes)
    return scim(await search.search(call, params, shown))
