"""SCIM User (RFC 7643 §4.1, §4.3) <-> identity.v1 User.

Requests are validated by scim2-models first (see scim_facade.parsing); this
module only renames: the SCIM attribute names and the proto JSON names are
the same but for `name` (nameParts), `active` (state), the enterprise
extension (enterprise) and manager.$ref."""

from typing import Any

from google.protobuf import json_format
from identity.v1 import user_pb2

from scim_facade.mapping.common import meta

CORE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_SAME = (
    "userName",
    "externalId",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
)


def _enterprise_to_proto(extension: dict[str, Any]) -> dict[str, Any]:
    document = {k: v for k, v in extension.items() if k != "manager"}
    manager = extension.get("manager")
    if isinstance(manager, dict):
        document["manager"] = {
            k: manager[k] for k in ("value", "displayName") if manager.get(k) is not None
        }
    return document


def to_proto(resource: dict[str, Any]) -> user_pb2.User:
    """A validated SCIM User (as scim2-models dumps it) as an identity.v1 User;
    read-only attributes and the password are not carried over."""
    document = {k: resource[k] for k in _SAME if resource.get(k) is not None}
    if resource.get("name"):
        document["nameParts"] = resource["name"]
    if resource.get(ENTERPRISE_SCHEMA):
        document["enterprise"] = _enterprise_to_proto(resource[ENTERPRISE_SCHEMA])
    message = json_format.ParseDict(document, user_pb2.User())
    # No `active` leaves the state as it is (a create makes the user active).
    active = resource.get("active")
    if active is not None:
        message.state = user_pb2.User.ACTIVE if active else user_pb2.User.DEACTIVATED
    return message


def _enterprise_to_scim(enterprise: dict[str, Any], base_url: str) -> dict[str, Any]:
    extension = {k: v for k, v in enterprise.items() if k != "manager"}
    manager = enterprise.get("manager")
    if manager:
        extension["manager"] = {
            "value": manager.get("value", ""),
            "$ref": f"{base_url}/Users/{manager.get('value', '')}",
            **({"displayName": manager["displayName"]} if "displayName" in manager else {}),
        }
    return extension


def to_scim(user: user_pb2.User, base_url: str) -> dict[str, Any]:
    """An identity.v1 User as a SCIM User resource with meta."""
    document = json_format.MessageToDict(user)
    resource: dict[str, Any] = {"schemas": [CORE_SCHEMA], "id": user.id}
    resource.update((k, document[k]) for k in _SAME if k in document)
    if "nameParts" in document:
        resource["name"] = document["nameParts"]
    resource["active"] = user.state == user_pb2.User.ACTIVE
    if "enterprise" in document:
        resource["schemas"].append(ENTERPRISE_SCHEMA)
        resource[ENTERPRISE_SCHEMA] = _enterprise_to_scim(document["enterprise"], base_url)
    resource["meta"] = meta("User", user, f"{base_url}/Users/{user.id}")
    return resource
