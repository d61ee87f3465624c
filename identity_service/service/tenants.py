"""Use cases for tenants and credentials (admin). Each method owns its
transaction."""

import re
import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from identity_service.domain.changes import ChangeKind
from identity_service.domain.errors import InvalidField, MissingScope, NotFound
from identity_service.domain.models import (
    Caller,
    Credential,
    Page,
    Scope,
    Tenant,
    TenantRef,
    TenantState,
    now,
)
from identity_service.service import changelog, paging
from identity_service.service.access import OWN_TENANT, hash_secret, new_secret, require
from identity_service.store import tenants as store
from identity_service.store.engine import Database

_SLUG = re.compile(r"[a-z][a-z0-9-]{0,62}")
# The caller of operator commands run on the server host (identity-service CLI).
OPERATOR = Caller("operator", None, None, frozenset({Scope.ADMIN}))


def _platform_admin(caller: Caller) -> None:
    require(caller, Scope.ADMIN)
    if not caller.is_platform:
        raise MissingScope(
            "only a platform credential may manage tenants",
            metadata={"required_scope": "admin", "required_credential": "platform"},
        )


class Tenants:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, caller: Caller, slug: str, display_name: str = "") -> Tenant:
        _platform_admin(caller)
        _check_slug(slug)
        with self._db.write() as conn:
            tenant = store.insert_tenant(conn, slug, display_name, now())
            ref = TenantRef(tenant.id, tenant.slug)
            changelog.record(conn, ref, caller, "", [changelog.tenant_created(ref, tenant)])
            return tenant

    def create_with_credential(
        self, caller: Caller, slug: str, display_name: str, *, scopes: Iterable[str]
    ) -> tuple[Tenant, Credential, str]:
        """A tenant and its first credential, together or not at all (the
        operator's `tenants create`); the secret is shown only here."""
        _platform_admin(caller)
        _check_slug(slug)
        parsed = _scopes(scopes)
        with self._db.write() as conn:
            tenant = store.insert_tenant(conn, slug, display_name, now())
            credential, secret = _insert_credential(conn, tenant, parsed, "SCIM", None)
            ref = TenantRef(tenant.id, tenant.slug)
            records = [
                changelog.tenant_created(ref, tenant),
                changelog.credential(ref, ChangeKind.CREDENTIAL_CREATED, credential),
            ]
            changelog.record(conn, ref, caller, "", records)
        return tenant, credential, secret

    def get(self, caller: Caller, slug: str) -> Tenant:
        require(caller, Scope.ADMIN)
        if not caller.is_platform and slug not in (OWN_TENANT, caller.tenant_slug):
            raise NotFound(f"tenant {slug!r} not found")
        with self._db.read() as conn:
            tenant = store.get_tenant(conn, caller.tenant_slug or slug)
        if tenant is None:
            raise NotFound(f"tenant {slug!r} not found")
        return tenant

    def list(self, caller: Caller, page_size: int, page_token: str) -> Page[Tenant]:
        _platform_admin(caller)
        query = paging.fingerprint("tenants")
        with self._db.read() as conn:
            items, key = store.list_tenants(
                conn, limit=paging.page_size(page_size), after=paging.decode(page_token, query)
            )
        return Page(items, paging.encode(query, key))

    def set_state(self, caller: Caller, slug: str, state: TenantState) -> Tenant:
        """Suspend or resume a tenant; a no-op when it is in that state."""
        _platform_admin(caller)
        with self._db.write() as conn:
            tenant = store.get_tenant(conn, slug)
            if tenant is None:
                raise NotFound(f"tenant {slug!r} not found")
            if tenant.state == state:
                return tenant
            store.set_tenant_state(conn, tenant.id, state, now())
            updated = store.get_tenant(conn, slug)
            assert updated is not None
            ref = TenantRef(tenant.id, tenant.slug)
            changelog.record(conn, ref, caller, "", [changelog.tenant_state(ref, state, updated)])
        return updated


class Credentials:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _tenant(self, conn: sa.Connection, caller: Caller, slug: str | None) -> Tenant | None:
        """The tenant whose credentials are meant (None: platform ones)."""
        require(caller, Scope.ADMIN)
        if not caller.is_platform:
            if slug not in (OWN_TENANT, caller.tenant_slug):
                raise NotFound(f"tenant {slug!r} not found")
            slug = caller.tenant_slug
        if slug is None:
            return None
        tenant = store.get_tenant(conn, slug)
        if tenant is None:
            raise NotFound(f"tenant {slug!r} not found")
        return tenant

    def create(
        self,
        caller: Caller,
        tenant_slug: str | None,
        *,
        scopes: Iterable[str],
        display_name: str = "",
        expire_time: datetime | None = None,
    ) -> tuple[Credential, str]:
        """A new credential and its secret, which is not stored and cannot be
        shown again."""
        # Scope first: a caller who may not create credentials learns nothing
        # from the validation of its request.
        require(caller, Scope.ADMIN)
        if tenant_slug is None and not caller.is_platform:
            raise MissingScope(
                "only a platform credential may create platform credentials",
                metadata={"required_scope": "admin", "required_credential": "platform"},
            )
        parsed = _scopes(scopes)
        if expire_time is not None and expire_time <= now():
            raise InvalidField.of("credential.expire_time", "must be in the future")
        with self._db.write() as conn:
            tenant = self._tenant(conn, caller, tenant_slug)
            credential, secret = _insert_credential(conn, tenant, parsed, display_name, expire_time)
            _record(conn, caller, tenant, ChangeKind.CREDENTIAL_CREATED, credential)
            return credential, secret

    def get(self, caller: Caller, tenant_slug: str | None, credential_id: str) -> Credential:
        with self._db.read() as conn:
            tenant = self._tenant(conn, caller, tenant_slug)
            credential = store.get_credential(conn, tenant, credential_id)
        if credential is None:
            raise NotFound(f"credential {credential_id!r} not found")
        return credential

    def list(
        self,
        caller: Caller,
        tenant_slug: str | None,
        *,
        page_size: int,
        page_token: str,
        show_revoked: bool = False,
    ) -> Page[Credential]:
        with self._db.read() as conn:
            tenant = self._tenant(conn, caller, tenant_slug)
            query = paging.fingerprint("credentials", tenant and tenant.id, show_revoked)
            items, key = store.list_credentials(
                conn,
                tenant,
                show_revoked=show_revoked,
                limit=paging.page_size(page_size),
                after=paging.decode(page_token, query),
            )
        return Page(items, paging.encode(query, key))

    def revoke(self, caller: Caller, tenant_slug: str | None, credential_id: str) -> Credential:
        """Revoke at once; a no-op on a revoked credential."""
        with self._db.write() as conn:
            tenant = self._tenant(conn, caller, tenant_slug)
            credential = store.get_credential(conn, tenant, credential_id)
            if credential is None:
                raise NotFound(f"credential {credential_id!r} not found")
            if credential.revoke_time is None:
                store.update_credential(conn, credential_id, revoke_time=now())
                credential = store.get_credential(conn, tenant, credential_id)
                assert credential is not None
                _record(conn, caller, tenant, ChangeKind.CREDENTIAL_REVOKED, credential)
        return credential


def _record(
    conn: sa.Connection,
    caller: Caller,
    tenant: Tenant | None,
    kind: ChangeKind,
    credential: Credential,
) -> None:
    """Log a tenant credential's change. Platform credentials (no tenant)
    have no log: every log is a tenant's."""
    if tenant is not None:
        ref = TenantRef(tenant.id, tenant.slug)
        changelog.record(conn, ref, caller, "", [changelog.credential(ref, kind, credential)])


def _check_slug(slug: str) -> None:
    if not _SLUG.fullmatch(slug) or slug.endswith("-"):
        raise InvalidField.of(
            "tenant_id", "1-63 lower-case letters, digits and hyphens, starting with a letter"
        )


def _insert_credential(
    conn: sa.Connection,
    tenant: Tenant | None,
    scopes: frozenset[Scope],
    display_name: str,
    expire_time: datetime | None,
) -> tuple[Credential, str]:
    """Store a new credential; returns it and its secret, which only its hash
    is kept of."""
    secret = new_secret()
    credential = Credential(
        id=uuid.uuid4().hex,
        tenant_slug=tenant.slug if tenant else None,
        display_name=display_name,
        scopes=scopes,
        secret_prefix=secret[:8],
        create_time=now(),
        expire_time=expire_time,
    )
    store.insert_credential(conn, tenant, credential, hash_secret(secret))
    return credential, secret


def _scopes(raw: Iterable[str]) -> frozenset[Scope]:
    values = [s.strip().lower() for s in raw if s.strip()]
    known = {s.value for s in Scope}
    unknown = sorted(set(values) - known)
    if unknown or not values:
        raise InvalidField.of(
            "credential.scopes",
            f"give one or more of {', '.join(sorted(known))}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
        )
    return frozenset(Scope(v) for v in values)
