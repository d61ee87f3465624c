"""The synthetic directory both servers are loaded with, so that Roster and
scim2-server answer the same requests over the same data.

User `i` is a function of `i` alone: its id, userName, externalId, name and
work email, so the load generator knows every user without reading them
back. A dataset also holds groups of 10, 10,000 and 100,000 members (those
smaller than its user count): users 0 .. size-1, so users from the largest
group's size on are members of no group, the pool a PATCH adds from."""

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

GROUP_SIZES = (10, 10_000, 100_000)
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_GIVEN = ("Ada", "Barbara", "Chen", "Dmitri", "Emeka", "Fatima", "Grace", "Hiro", "Ines", "Jon")
_FAMILY = ("Jensen", "Okafor", "Tanaka", "Silva", "Novak", "Haddad", "Kowalski", "Lee", "Ruiz")
_DEPARTMENTS = ("Sales", "R&D", "Support", "Finance", "Legal", "Marketing", "Operations")


@dataclass(frozen=True)
class Dataset:
    """`users` users and the groups their count allows."""

    users: int

    @property
    def name(self) -> str:
        return label(self.users)

    @property
    def group_sizes(self) -> tuple[int, ...]:
        return tuple(size for size in GROUP_SIZES if size < self.users)

    @property
    def first_free_user(self) -> int:
        """The first user of no group: PATCH adds users from here on."""
        return max(self.group_sizes, default=0)


def label(count: int) -> str:
    """1000 -> "1k", 100000 -> "100k", 1000000 -> "1M"."""
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    if count >= 1000 and count % 1000 == 0:
        return f"{count // 1000}k"
    return str(count)


def _uuid(kind: str, number: int) -> str:
    digest = hashlib.blake2b(f"{kind}{number}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def user_id(i: int) -> str:
    return _uuid("user", i)


def group_id(size: int) -> str:
    return _uuid("group", size)


def user_name(i: int) -> str:
    return f"user{i:07d}@example.com"


def external_id(i: int) -> str:
    return f"ext-{i:07d}"


def email(i: int) -> str:
    return f"{_GIVEN[i % len(_GIVEN)]}.{_FAMILY[i % len(_FAMILY)]}.{i:07d}@mail.example.org".lower()


def group_name(size: int) -> str:
    return f"group of {label(size)}"


def scim_user(i: int) -> dict[str, Any]:
    """User `i` as a SCIM resource (RFC 7643 §4.1, with the enterprise
    extension), without id and meta: what an IdP would POST."""
    given, family = _GIVEN[i % len(_GIVEN)], _FAMILY[i % len(_FAMILY)]
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "userName": user_name(i),
        "externalId": external_id(i),
        "displayName": f"{given} {family} {i}",
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "title": "Engineer" if i % 3 else "Manager",
        "active": True,
        "emails": [{"value": email(i), "type": "work", "primary": True}],
        ENTERPRISE_SCHEMA: {
            "employeeNumber": str(i),
            "department": _DEPARTMENTS[i % len(_DEPARTMENTS)],
        },
    }
