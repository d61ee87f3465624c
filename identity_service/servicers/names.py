"""Resource names (AIP-122) to ids and back. A malformed name is
INVALID_ARGUMENT naming the field."""

import re

from identity_service.domain.errors import InvalidField
from identity_service.domain.models import MemberRef, MemberType

# No control characters: no id holds one, and PostgreSQL text cannot hold NUL.
_SEGMENT = r"([^/\x00-\x1f\x7f]+)"
_TENANT = re.compile(rf"tenants/{_SEGMENT}")
_CHILD = re.compile(rf"tenants/{_SEGMENT}/(users|groups|members|credentials)/{_SEGMENT}")
_PLATFORM_CREDENTIAL = re.compile(rf"credentials/{_SEGMENT}")


def tenant(name: str, field: str = "parent") -> str:
    """The tenant slug of "tenants/{tenant}"."""
    match = _TENANT.fullmatch(name)
    if match is None:
        raise InvalidField.of(field, "expected tenants/{tenant}")
    return match.group(1)


def child(name: str, collection: str, field: str = "name") -> tuple[str, str]:
    """(tenant, id) of "tenants/{tenant}/{collection}/{id}"."""
    match = _CHILD.fullmatch(name)
    if match is None or match.group(2) != collection:
        raise InvalidField.of(field, f"expected tenants/{{tenant}}/{collection}/{{id}}")
    return match.group(1), match.group(3)


def child_of(slug: str, name: str, collection: str, field: str) -> str:
    """The id of a child named in a batch request under the tenant `slug`."""
    tenant_of_name, child_id = child(name, collection, field)
    if tenant_of_name not in (slug, "-"):
        raise InvalidField.of(field, "every name must be under the parent")
    return child_id


def _member_match(name: str, field: str) -> re.Match[str]:
    match = _CHILD.fullmatch(name)
    if match is None or match.group(2) == "credentials":
        raise InvalidField.of(
            field, "expected tenants/{tenant}/users/{id}, .../groups/{id} or .../members/{id}"
        )
    return match


def tenant_of_member(name: str, field: str = "member") -> str:
    return _member_match(name, field).group(1)


def member(name: str, slug: str, field: str = "members") -> MemberRef:
    """A member named "tenants/{tenant}/users/{id}", ".../groups/{id}", or
    ".../members/{id}" when the caller does not know which (SCIM
    members.value), in the tenant `slug` (the group's; "-" stands for it)."""
    match = _member_match(name, field)
    if match.group(1) not in (slug, "-"):
        raise InvalidField.of(field, "members must belong to the group's tenant")
    kind = {"users": MemberType.USER, "groups": MemberType.GROUP}.get(
        match.group(2), MemberType.ANY
    )
    return MemberRef(kind, match.group(3))


def credential(name: str) -> tuple[str | None, str]:
    """(tenant or None for a platform credential, id)."""
    platform = _PLATFORM_CREDENTIAL.fullmatch(name)
    if platform:
        return None, platform.group(1)
    slug, credential_id = child(name, "credentials")
    return slug, credential_id


def optional_tenant(parent: str) -> str | None:
    """A credentials parent: "tenants/{tenant}", or "" for the platform."""
    return tenant(parent) if parent else None


def user_name(slug: str, user_id: str) -> str:
    return f"tenants/{slug}/users/{user_id}"


def group_name(slug: str, group_id: str) -> str:
    return f"tenants/{slug}/groups/{group_id}"


def member_name(slug: str, ref: MemberRef) -> str:
    kind = "users" if ref.type == MemberType.USER else "groups"
    return f"tenants/{slug}/{kind}/{ref.id}"
