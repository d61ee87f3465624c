"""SCIM Group (RFC 7643 §4.2) <-> identity.v1 Group and members."""

from collections.abc import Iterable
from typing import Any

from identity.v1 import group_pb2

from scim_facade.mapping.common import meta

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
_TYPES = {group_pb2.Member.USER: "User", group_pb2.Member.GROUP: "Group"}
_COLLECTIONS = {"User": "Users", "Group": "Groups"}


def to_proto(resource: dict[str, Any]) -> group_pb2.Group:
    """The group's own fields of a validated SCIM Group."""
    return group_pb2.Group(
        display_name=resource.get("displayName") or "",
        external_id=resource.get("externalId") or "",
    )


def member_name(member: dict[str, Any]) -> str:
    """The identity.v1 name of a SCIM member: ".../members/{id}" lets
    identity_service tell a user from a group when the IdP sends no type."""
    collection = _COLLECTIONS.get(str(member.get("type", "")).capitalize(), "members")
    return f"tenants/-/{collection.lower()}/{member['value']}"


def member_names(resource: dict[str, Any]) -> list[str]:
    return [member_name(m) for m in resource.get("members") or ()]


def member_to_scim(member: group_pb2.Member, base_url: str) -> dict[str, Any]:
    kind = _TYPES[member.type]
    return {
        "value": member.id,
        "display": member.display,
        "type": kind,
        "$ref": f"{base_url}/{_COLLECTIONS[kind]}/{member.id}",
    }


def to_scim(
    group: group_pb2.Group, base_url: str, members: Iterable[group_pb2.Member] | None
) -> dict[str, Any]:
    """A SCIM Group; `members` None leaves the attribute out (not fetched)."""
    resource: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": group.id,
        "displayName": group.display_name,
    }
    if group.external_id:
        resource["externalId"] = group.external_id
    if members is not None:
        resource["members"] = [member_to_scim(m, base_url) for m in members]
    resource["meta"] = meta("Group", group, f"{base_url}/Groups/{group.id}")
    return resource
