"""The change log's records: what changed, in which tenant, by whom. Plain
types; the store keeps them, the servicer turns them into identity.v1.Change.

Every log is a tenant's: platform credentials belong to no tenant, so their
creation and revocation are recorded nowhere (a platform audit log is not
part of this design yet)."""

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class ResourceType(enum.StrEnum):
    USER = "user"
    GROUP = "group"
    TENANT = "tenant"
    CREDENTIAL = "credential"


class ChangeKind(enum.StrEnum):
    USER_CREATED = "USER_CREATED"
    USER_UPDATED = "USER_UPDATED"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    USER_REACTIVATED = "USER_REACTIVATED"
    USER_DELETED = "USER_DELETED"
    USER_UNDELETED = "USER_UNDELETED"
    GROUP_CREATED = "GROUP_CREATED"
    GROUP_UPDATED = "GROUP_UPDATED"
    GROUP_DELETED = "GROUP_DELETED"
    GROUP_UNDELETED = "GROUP_UNDELETED"
    MEMBER_ADDED = "MEMBER_ADDED"
    MEMBER_REMOVED = "MEMBER_REMOVED"
    TENANT_CREATED = "TENANT_CREATED"
    TENANT_SUSPENDED = "TENANT_SUSPENDED"
    TENANT_RESUMED = "TENANT_RESUMED"
    CREDENTIAL_CREATED = "CREDENTIAL_CREATED"
    CREDENTIAL_REVOKED = "CREDENTIAL_REVOKED"

    @property
    def resource_type(self) -> ResourceType:
        prefix = self.value.split("_", 1)[0]
        return ResourceType.GROUP if prefix == "MEMBER" else ResourceType(prefix.lower())


@dataclass(frozen=True)
class NewChange:
    """A change a use case made, before the log numbers it. `snapshot` is the
    resource after the change as JSON (a tombstone after a delete; the member
    for MEMBER_ADDED/REMOVED, whose resource is the group)."""

    kind: ChangeKind
    resource_id: str
    resource: str  # the resource name, "tenants/{t}/users/{id}"
    snapshot: dict[str, Any]
    changed_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Actor:
    """Who made a change: the credential (its resource name, or "operator"),
    and the request it reported."""

    credential: str
    method: str = ""
    path: str = ""
    client: str = ""


@dataclass(frozen=True)
class Change:
    """One numbered record of a tenant's log. `seq` is gap-free per tenant
    and in commit order."""

    tenant_id: int
    tenant_slug: str
    seq: int
    kind: ChangeKind
    resource_id: str
    resource: str
    snapshot: dict[str, Any]
    changed_fields: tuple[str, ...]
    actor: Actor
    request_id: str
    commit_time: datetime

    @property
    def resource_type(self) -> ResourceType:
        return self.kind.resource_type


@dataclass(frozen=True)
class Checkpoint:
    """A change stream's position: every record up to `cursor` was sent or
    filtered out, as the log stood at `time`."""

    cursor: str
    time: datetime
