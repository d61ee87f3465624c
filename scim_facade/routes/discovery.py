"""/ServiceProviderConfig, /ResourceTypes and /Schemas (RFC 7644 §4).

They answer without a bearer token: RFC 7643 §5 asks that the configuration
be readable before authentication, the three documents are the same for
every tenant (they tell nothing about one), and the facade could not check
a token without a call to identity_service. A token that is sent is ignored.
Only GET is routed, so other methods are 405."""

from typing import Any

from fastapi import APIRouter, Depends, Request

from scim_facade import discovery
from scim_facade.errors import ScimError
from scim_facade.responses import ScimResponse, scim
from scim_facade.routes.common import PREFIX
from scim_facade.settings import Settings


async def _no_filter(request: Request) -> None:
    """RFC 7644 §4: query parameters are ignored here, but a filter is refused
    (403) so that a client cannot take the answer for a filtered one."""
    if "filter" in {name.lower() for name in request.query_params}:
        raise ScimError(403, "discovery endpoints do not support filtering")


router = APIRouter(tags=["Discovery"], dependencies=[Depends(_no_filter)])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _schema(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
    return discovery.located(schema, "Schema", f"{_base(request)}/Schemas/{schema['id']}")


def _resource_type(request: Request, resource_type: dict[str, Any]) -> dict[str, Any]:
    location = f"{_base(request)}/ResourceTypes/{resource_type['id']}"
    return discovery.located(resource_type, "ResourceType", location)


@router.get("/ServiceProviderConfig")
# SCIM 1.1 clients still ask for the plural name.
@router.get("/ServiceProviderConfigs", include_in_schema=False)
async def service_provider_config(request: Request) -> ScimResponse:
    """What the facade supports (RFC 7643 §5)."""
    settings: Settings = request.app.state.settings
    config = discovery.service_provider_config(settings)
    location = f"{_base(request)}/ServiceProviderConfig"
    return scim(discovery.located(config, "ServiceProviderConfig", location))


@router.get("/ResourceTypes")
async def list_resource_types(request: Request) -> ScimResponse:
    """Every resource type, as a ListResponse (RFC 7644 §4)."""
    types = [_resource_type(request, t) for t in discovery.resource_types()]
    return scim(discovery.list_response(types))


@router.get("/ResourceTypes/{type_id}")
async def get_resource_type(type_id: str, request: Request) -> ScimResponse:
    """One resource type (RFC 7643 §6); 404 for an unknown id."""
    found = discovery.resource_type(type_id)
    if found is None:
        raise ScimError(404, f"no resource type {type_id!r}")
    return scim(_resource_type(request, found))


@router.get("/Schemas")
async def list_schemas(request: Request) -> ScimResponse:
    """Every schema of a served resource, as a ListResponse (RFC 7644 §4)."""
    return scim(discovery.list_response([_schema(request, s) for s in discovery.schemas()]))


@router.get("/Schemas/{schema_id}")
async def get_schema(schema_id: str, request: Request) -> ScimResponse:
    """One schema by its URN (RFC 7643 §7); 404 for an unknown one."""
    found = discovery.schema(schema_id)
    if found is None:
        raise ScimError(404, f"no schema {schema_id!r}")
    return scim(_schema(request, found))
