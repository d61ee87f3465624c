"""Plain domain types shared by the service and the store. No protobuf, no SQL."""

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UserState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"
    DELETED = "DELETED"


class TenantState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class Scope(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    SCIM = "scim"
    WATCH = "watch"
    ADMIN = "admin"


class MemberType(enum.StrEnum):
    USER = "USER"
    GROUP = "GROUP"
    # Named without its kind (".../members/{id}", as SCIM members.value is):
    # the service finds whether the id is a user or a group.
    ANY = "ANY"


def now() -> datetime:
    return datetime.now(UTC)


def etag_of(version: int) -> str:
    """The weak entity tag of a version (AIP-154, RFC 7232 §2.3)."""
    return f'W/"{version}"'


@dataclass(frozen=True)
class Tenant:
    id: int
    slug: str
    display_name: str
    state: TenantState
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class Credential:
    id: str
    tenant_slug: str | None  # None for a platform credential
    display_name: str
    scopes: frozenset[Scope]
    secret_prefix: str
    create_time: datetime
    expire_time: datetime | None = None
    last_use_time: datetime | None = None
    revoke_time: datetime | None = None


@dataclass(frozen=True)
class Origin:
    """The request a call was made for, as the caller reports it: for the
    SCIM facade, the IdP's HTTP request. Recorded as the actor of changes;
    never used to decide anything."""

    method: str = ""
    path: str = ""
    client: str = ""
    # The caller's id of the request (the facade's X-Request-Id): logged,
    # and recorded as a change's request_id when the RPC names none.
    request_id: str = ""


@dataclass(frozen=True)
class Caller:
    """Who is calling: decided by the credential, never by the request."""

    credential_id: str
    tenant_id: int | None  # None for a platform credential
    tenant_slug: str | None
    scopes: frozenset[Scope]
    origin: Origin | None = None
    # Authenticated by an OAuth 2.0 access token issued to credential_id,
    # refused after token_expire_time (calls that outlive it: change streams).
    access_token: bool = False
    token_expire_time: datetime | None = None

    @property
    def is_platform(self) -> bool:
        return self.tenant_id is None


@dataclass(frozen=True)
class User:
    """A user. `attributes` holds every SCIM attribute except the indexed core
    ones, keyed by its proto JSON name (e.g. "nameParts", "emails",
    "enterprise", "extensions")."""

    id: str
    tenant_slug: str
    user_name: str
    external_id: str | None
    display_name: str | None
    state: UserState
    attributes: dict[str, Any]
    version: int
    create_time: datetime
    update_time: datetime
    deactivate_time: datetime | None = None
    delete_time: datetime | None = None

    @property
    def etag(self) -> str:
        return etag_of(self.version)


@dataclass(frozen=True)
class NewUser:
    """The writable part of a user, as a client sends it."""

    user_name: str
    external_id: str | None = None
    display_name: str | None = None
    active: bool = True
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    id: str
    tenant_slug: str
    display_name: str
    external_id: str | None
    member_count: int
    version: int
    create_time: datetime
    update_time: datetime
    delete_time: datetime | None = None

    @property
    def etag(self) -> str:
        return etag_of(self.version)


@dataclass(frozen=True)
class MemberRef:
    type: MemberType
    id: str


@dataclass(frozen=True)
class Member:
    type: MemberType
    id: str
    display: str


@dataclass(frozen=True)
class Membership:
    group_id: str
    display_name: str
    direct: bool


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str
    total_size: int | None = None
    # The change log position the page was read at (service/changes.py).
    change_cursor: str = ""


@dataclass(frozen=True)
class ListQuery:
    """What a List call asks for, before paging."""

    filter: str = ""
    order_by: str = ""
    page_size: int = 0
    page_token: str = ""
    skip: int = 0
    show_deleted: bool = False


@dataclass(frozen=True)
class TenantRef:
    """The tenant a store call is scoped to: the first argument of every store
    function after the connection."""

    id: int
    slug: str
