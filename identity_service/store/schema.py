"""The tables, as SQLModel classes. Every row carries tenant_id; every unique
index includes it; uniqueness over live rows is enforced by partial unique
indexes, so a race of two creates ends with one row."""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from identity_service.store.engine import fold

# JSONB on PostgreSQL, JSON (text) on SQLite.
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# Comparison keys (fold()ed strings) sort and compare by code point: "C"
# collation on PostgreSQL lets a prefix range (userName sw) use the index.
# Case folding can triple a string's length ("ß" -> "ss"), hence 4 x 256.
FoldedKey = sa.String(1024).with_variant(postgresql.VARCHAR(1024, collation="C"), "postgresql")
_LIVE = sa.text("delete_time IS NULL")
_LIVE_WITH_EXTERNAL_ID = sa.text("delete_time IS NULL AND external_id IS NOT NULL")


def as_utc(value: datetime | None) -> datetime | None:
    """Times are stored in UTC; SQLite hands them back without a zone."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _time(nullable: bool = False) -> Any:
    return Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=nullable))


class TenantRow(SQLModel, table=True):
    __tablename__ = "tenants"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=63, unique=True)
    display_name: str = Field(default="", max_length=256)
    state: str = Field(max_length=16)
    create_time: datetime = _time()
    update_time: datetime = _time()
    # The seq of the tenant's last change record (store/changes.py): bumped
    # at the end of every mutation's transaction, so writers of one tenant
    # serialise on this row and seq order is commit order.
    change_seq: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0")
    )


class CredentialRow(SQLModel, table=True):
    __tablename__ = "credentials"

    id: str = Field(primary_key=True, max_length=32)
    tenant_id: int | None = Field(default=None, foreign_key="tenants.id", index=True)
    display_name: str = Field(default="", max_length=256)
    scopes: str = Field(max_length=256)  # comma-separated Scope values
    secret_hash: str = Field(max_length=64, unique=True)  # SHA-256 hex
    secret_prefix: str = Field(max_length=16)
    create_time: datetime = _time()
    expire_time: datetime | None = _time(nullable=True)
    last_use_time: datetime | None = _time(nullable=True)
    revoke_time: datetime | None = _time(nullable=True)


class AccessTokenRow(SQLModel, table=True):
    """An OAuth 2.0 access token: a short-lived credential issued to a
    client credential, stored only as its hash (store/tokens.py)."""

    __tablename__ = "access_tokens"

    id: str = Field(primary_key=True, max_length=32)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    client_id: str = Field(foreign_key="credentials.id", index=True, max_length=32)
    scopes: str = Field(max_length=256)  # comma-separated Scope values
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 hex
    create_time: datetime = _time()
    expire_time: datetime = _time()


EMAILS_KEY_SEPARATOR = "\x1f"  # the unit separator: no email address holds it


def emails_key(attributes: dict[str, Any]) -> str | None:
    """UserRow.emails_key for a user's attributes."""
    emails = attributes.get("emails")
    if not isinstance(emails, list):
        return None
    values = [
        fold(entry["value"])
        for entry in emails
        if isinstance(entry, dict) and isinstance(entry.get("value"), str)
    ]
    if not values:
        return None
    return EMAILS_KEY_SEPARATOR + EMAILS_KEY_SEPARATOR.join(values) + EMAILS_KEY_SEPARATOR


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        sa.Index(
            "uq_users_live_user_name",
            "tenant_id",
            "user_name_key",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        sa.Index(
            "uq_users_live_external_id",
            "tenant_id",
            "external_id",
            unique=True,
            sqlite_where=_LIVE_WITH_EXTERNAL_ID,
            postgresql_where=_LIVE_WITH_EXTERNAL_ID,
        ),
        sa.Index("ix_users_display_name", "tenant_id", "display_name_key"),
    )

    tenant_id: int = Field(foreign_key="tenants.id", primary_key=True)
    id: str = Field(primary_key=True, max_length=36)
    user_name: str = Field(max_length=256)
    # NFC-normalised, case-folded userName: what uniqueness and filters compare.
    user_name_key: str = Field(sa_column=sa.Column(FoldedKey, nullable=False))
    external_id: str | None = Field(default=None, max_length=256)
    display_name: str | None = Field(default=None, max_length=256)
    display_name_key: str | None = Field(default=None, sa_column=sa.Column(FoldedKey))
    state: str = Field(max_length=16)
    attributes: dict[str, Any] = Field(sa_column=sa.Column(JSONDocument, nullable=False))
    # The folded string values of attributes.emails, each between two
    # EMAILS_KEY_SEPARATORs (NULL without any): what `emails co/sw/ew/eq`
    # scans, a C string search per row instead of a JSON walk and a
    # case fold in Python per email (docs/decisions/0012).
    emails_key: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    version: int = 1
    create_time: datetime = _time()
    update_time: datetime = _time()
    deactivate_time: datetime | None = _time(nullable=True)
    delete_time: datetime | None = _time(nullable=True)


class GroupRow(SQLModel, table=True):
    __tablename__ = "groups"
    __table_args__ = (
        sa.Index(
            "uq_groups_live_display_name",
            "tenant_id",
            "display_name_key",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        sa.Index(
            "uq_groups_live_external_id",
            "tenant_id",
            "external_id",
            unique=True,
            sqlite_where=_LIVE_WITH_EXTERNAL_ID,
            postgresql_where=_LIVE_WITH_EXTERNAL_ID,
        ),
    )

    tenant_id: int = Field(foreign_key="tenants.id", primary_key=True)
    id: str = Field(primary_key=True, max_length=36)
    display_name: str = Field(max_length=256)
    display_name_key: str = Field(sa_column=sa.Column(FoldedKey, nullable=False))
    external_id: str | None = Field(default=None, max_length=256)
    member_count: int = 0
    version: int = 1
    create_time: datetime = _time()
    update_time: datetime = _time()
    delete_time: datetime | None = _time(nullable=True)


class MembershipRow(SQLModel, table=True):
    """One direct member of one group. Adding or removing a member touches
    exactly one row here and the group's counter."""

    __tablename__ = "group_members"
    # The groups of a member, answered from the index alone.
    __table_args__ = (sa.Index("ix_group_members_member", "tenant_id", "member_id", "group_id"),)

    tenant_id: int = Field(foreign_key="tenants.id", primary_key=True)
    group_id: str = Field(primary_key=True, max_length=36)
    member_id: str = Field(primary_key=True, max_length=36)
    member_type: str = Field(max_length=8)
    create_time: datetime = _time()


class RequestRow(SQLModel, table=True):
    """The first answer to a request_id (AIP-155), replayed on retries."""

    __tablename__ = "requests"

    tenant_id: int = Field(foreign_key="tenants.id", primary_key=True)
    request_id: str = Field(primary_key=True, max_length=64)
    method: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    response: dict[str, Any] = Field(sa_column=sa.Column(JSONDocument, nullable=False))
    create_time: datetime = _time()


class ChangeRow(SQLModel, table=True):
    """One record of a tenant's change log: gap-free `seq` per tenant, in
    commit order (see store/changes.py)."""

    __tablename__ = "changes"
    __table_args__ = (
        # Audit: the history of one resource.
        sa.Index("ix_changes_resource", "tenant_id", "resource_type", "resource_id", "seq"),
        # Retention: prune by age.
        sa.Index("ix_changes_commit_time", "commit_time"),
    )

    tenant_id: int = Field(foreign_key="tenants.id", primary_key=True)
    seq: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    kind: str = Field(max_length=32)
    resource_type: str = Field(max_length=16)
    resource_id: str = Field(max_length=63)
    resource: str = Field(max_length=256)  # the resource name
    snapshot: dict[str, Any] = Field(sa_column=sa.Column(JSONDocument, nullable=False))
    changed_fields: list[str] = Field(sa_column=sa.Column(JSONDocument, nullable=False))
    actor: dict[str, Any] = Field(sa_column=sa.Column(JSONDocument, nullable=False))
    request_id: str = Field(default="", max_length=64)
    commit_time: datetime = _time()


metadata = SQLModel.metadata
