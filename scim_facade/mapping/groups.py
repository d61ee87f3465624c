"""SCIM Group (RFC 7643 §4.2) <-> identity.v1 Group and members.

Members are a sub-resource in identity.v1 (ListMembers, ModifyGroup), never
embedded in the Group message: this module turns SCIM member entries into
identity.v1 member names and member messages into SCIM entries, and leaves
fetching and streaming them to scim_facade.groups and the routes."""

from collections.abc import Iterable
from typing import Any

from identity.v1 import group_pb2

from scim_facade.errors import invalid_value
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


def member_entry(item: Any) -> dict[str, str]:
    """A SCIM member entry of a request as {"value", "type"?}, its names in
    any case (RFC 7643 §2.1); `display` and `$ref` are not kept. Checked
    here rather than by scim2-models, which costs about 100 us an entry (a
    second for a PUT of 10,000 members)."""
    if not isinstance(item, dict):
        raise invalid_value("a member is an object with a value (RFC 7643 §4.2)")
    keys = {str(key).lower(): value for key, value in item.items()}
    value, kind = keys.get("value"), keys.get("type")
    # An id is one segment of an identity.v1 name: it holds no "/".
    if not isinstance(value, str) or not value or "/" in value:
        raise invalid_value("every member needs its id as value (RFC 7643 §4.2)")
    if kind is not None and not isinstance(kind, str):
        raise invalid_value("a member's type is a string, User or Group")
    return {"value": value, "type": kind} if kind else {"value": value}


def member_names(entries: Any) -> list[str]:
    """The identity.v1 names of a list of SCIM member entries (None: none)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise invalid_value('members is a list of {"value": id} objects')
    return [member_name(member_entry(item)) for item in entries]


def without_members(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A Group body of POST or PUT split into its other attributes (for
    scim2-models to validate) and the names of its members."""
    rest = {key: value for key, value in body.items() if key.lower() != "members"}
    listed = [value for key, value in body.items() if key.lower() == "members"]
    return rest, member_names(listed[0] if listed else None)


def member_to_scim(member: group_pb2.Member, base_url: str) -> dict[str, Any]:
    """A member as RFC 7643 §8.7.1 defines it: value, $ref and type. Not
    `display` (read-only, §2.4): a client that sends one (scim2-tester does)
    expects it back, and identity.v1 keeps none but the member's own name."""
    kind = _TYPES[member.type]
    return {
        "value": member.id,
        "type": kind,
        "$ref": f"{base_url}/{_COLLECTIONS[kind]}/{member.id}",
    }


def members_to_scim(members: Iterable[group_pb2.Member], base_url: str) -> list[dict[str, Any]]:
    return [member_to_scim(m, base_url) for m in members]


def to_scim(
    group: group_pb2.Group, base_url: str, members: Iterable[group_pb2.Member] | None
) -> dict[str, Any]:
    """A SCIM Group; `members` None leaves the attribute out (not fetched),
    and so does an empty list (RFC 7643 §2.5: unassigned and empty are the
    same state)."""
    resource: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": group.id,
        "displayName": group.display_name,
    }
    if group.external_id:
        resource["externalId"] = group.external_id
    entries = members_to_scim(members or (), base_url)
    if entries:
        resource["members"] = entries
    resource["meta"] = meta("Group", group, f"{base_url}/Groups/{group.id}")
    return resource
