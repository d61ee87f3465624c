"""/Me (RFC 7644 §3.11): 501 for every method.

A Roster bearer token belongs to a tenant's provisioning credential, not to
a user, so there is no authenticated subject for /Me to stand for; RFC 7644
§3.11 answers such a service provider with 501 Not Implemented."""

from fastapi import APIRouter

from scim_facade.errors import ScimError

router = APIRouter(tags=["Me"])
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/Me", methods=_METHODS)
@router.api_route("/Me/{rest:path}", methods=_METHODS)
async def me() -> None:
    """Always 501 with a SCIM error."""
    raise ScimError(501, "/Me is not supported: the bearer token identifies a tenant, not a user")
