"""/Me (RFC 7644 §3.11): 501 for every method.

A Roster bearer token belongs to a tenant's provisioning credential, not to
a user, so there is no authenticated subject for /Me to stand for; RFC 7644
§3.11 answers such a service provider with 501 Not Implemented."""

from fastapi import APIRouter

from scim_facade.errors import ScimError
from scim_facade.routes import openapi

router = APIRouter(tags=["Me"])
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def me() -> None:
    """Always 501 with a SCIM error."""
    raise ScimError(501, "/Me is not supported: the bearer token identifies a tenant, not a user")


# One route per method, so each has its own OpenAPI operation id.
for _method in _METHODS:
    router.add_api_route("/Me", me, methods=[_method], operation_id=f"me_{_method.lower()}")
    router.add_api_route(
        "/Me/{rest:path}",
        me,
        methods=[_method],
        operation_id=f"me_rest_{_method.lower()}",
        openapi_extra=openapi.ME,
    )
