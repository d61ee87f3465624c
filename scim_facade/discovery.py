"""ServiceProviderConfig, ResourceTypes and Schemas (RFC 7643 §5-§7), derived
from the scim2-models classes the facade validates requests with, so what
/Schemas says is what parsing.py accepts. They are built once and answered
as dicts; only `meta.location` depends on the request."""

from functools import cache
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Pagination,
    Patch,
    Reference,
    ResourceType,
    ServiceProviderConfig,
    Sort,
)

from scim_facade.listing import LIST_RESPONSE_SCHEMA
from scim_facade.parsing import UserModel
from scim_facade.settings import Settings

RESOURCES = (UserModel, Group)
_EXTENSIONS = (EnterpriseUser,)
# Attributes of the models that the facade does not keep, so /Schemas does
# not advertise them (RFC 7643 §7: the schema tells what the provider supports).
NOT_SERVED = {
    # password: accepted on POST and PUT and dropped, Roster holds no
    # passwords (changePassword is unsupported too). groups: identity.v1
    # returns no memberships with a user, so it is never in a User.
    "urn:ietf:params:scim:schemas:core:2.0:User": frozenset({"password", "groups"}),
    # members.display: identity.v1 keeps no display a client sends for a member.
    "urn:ietf:params:scim:schemas:core:2.0:Group": frozenset({"members.display"}),
}
# The facade authenticates with the tenant's bearer token (RFC 6750), or
# an access token from its OAuth 2.0 token endpoint (routes/oauth.py).
_BEARER = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="OAuth Bearer Token",
    description="The tenant's SCIM token, or an access token from POST /oauth/token "
    "(OAuth 2.0 client credentials), sent as 'Authorization: Bearer <token>'",
    spec_uri=Reference("https://www.rfc-editor.org/info/rfc6750"),
    primary=True,
)


def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return dumped


def _without(attributes: list[dict[str, Any]], hidden: frozenset[str]) -> list[dict[str, Any]]:
    """The attributes less the hidden ones ("name" or "name.subAttribute")."""
    kept = []
    for attribute in attributes:
        name = attribute["name"]
        if name in hidden:
            continue
        inner = frozenset(h.partition(".")[2] for h in hidden if h.startswith(f"{name}."))
        subs = attribute.get("subAttributes")
        kept.append(
            {**attribute, "subAttributes": _without(subs, inner)} if inner and subs else attribute
        )
    return kept


def _served(schema: dict[str, Any]) -> dict[str, Any]:
    hidden = NOT_SERVED.get(schema["id"], frozenset())
    return {**schema, "attributes": _without(schema["attributes"], hidden)}


@cache
def schemas() -> tuple[dict[str, Any], ...]:
    """Every schema of a served resource: core schemas, then extensions."""
    models = (*RESOURCES, *_EXTENSIONS)
    return tuple(_served(_dump(model.to_schema())) for model in models)


@cache
def resource_types() -> tuple[dict[str, Any], ...]:
    """The served resource types (RFC 7643 §6), as scim2-models derives them."""
    types = []
    for model in RESOURCES:
        resource_type = _dump(ResourceType.from_resource(model))
        if not resource_type.get("schemaExtensions"):
            resource_type.pop("schemaExtensions", None)
        types.append(resource_type)
    return tuple(types)


@cache
def service_provider_config(settings: Settings) -> dict[str, Any]:
    """What the facade supports (RFC 7643 §5), pagination per RFC 9865 §4."""
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(
            supported=True,
            max_operations=settings.bulk_max_operations,
            max_payload_size=settings.bulk_max_payload_bytes,
        ),
        filter=Filter(supported=True, max_results=settings.max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[_BEARER],
        # Cursors are identity_service page tokens with no fixed lifetime, so
        # cursorTimeout is left out (RFC 9865 §4: no static timeout).
        pagination=Pagination(
            cursor=True,
            index=True,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=settings.max_results,
            max_page_size=settings.max_results,
        ),
    )
    return _dump(config)


def _find(items: tuple[dict[str, Any], ...], item_id: str) -> dict[str, Any] | None:
    wanted = item_id.lower()
    return next((item for item in items if str(item["id"]).lower() == wanted), None)


def schema(schema_id: str) -> dict[str, Any] | None:
    """The schema whose URN is `schema_id` (compared case-insensitively)."""
    return _find(schemas(), schema_id)


def resource_type(type_id: str) -> dict[str, Any] | None:
    return _find(resource_types(), type_id)


def located(resource: dict[str, Any], resource_type: str, location: str) -> dict[str, Any]:
    """`resource` with its meta (RFC 7644 §4: resourceType and location)."""
    return {**resource, "meta": {"resourceType": resource_type, "location": location}}


def list_response(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """All of them in one ListResponse; RFC 7644 §4 has no paging here."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
