"""Who may do what: authentication of bearer secrets, scopes, and the tenant a
request reaches. The credential decides the tenant, never the request."""

import hashlib
import logging
import secrets
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from identity_service.domain.errors import (
    InvalidCredential,
    MissingScope,
    NotFound,
    StorageUnavailable,
    TenantSuspended,
)
from identity_service.domain.models import Caller, Scope, TenantRef, TenantState, now
from identity_service.store import tenants as tenant_store
from identity_service.store import tokens as token_store
from identity_service.store.engine import ACCESS, Database

SECRET_PREFIX = "rst_"  # noqa: S105 - a marker, not a secret
# OAuth 2.0 access tokens (service/tokens.py): short-lived, issued to a credential.
TOKEN_PREFIX = "rat_"  # noqa: S105 - a marker, not a secret
_PREFIXES = (SECRET_PREFIX, TOKEN_PREFIX)
LAST_USE_RESOLUTION = timedelta(minutes=1)
# Scopes that imply others: an IdP's "scim" credential reads and writes.
_IMPLIED = {Scope.SCIM: {Scope.READ, Scope.WRITE}}
# "-" in a resource name stands for the caller's own tenant (AIP-159).
OWN_TENANT = "-"
_log = logging.getLogger(__name__)


def new_secret() -> str:
    """256 random bits, URL-safe, recognisable by its prefix."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 is enough for a 256-bit random secret: it cannot be guessed, so
    a slow password hash would only slow every call down. Secrets are looked
    up by this digest, so the time a lookup takes depends on the digest, which
    a caller cannot steer, and never on how much of a secret was right."""
    return hashlib.sha256(secret.encode()).hexdigest()


def granted(scopes: frozenset[Scope]) -> frozenset[Scope]:
    """`scopes` and every scope they imply."""
    held = set(scopes)
    for scope_held in scopes:
        held |= _IMPLIED.get(scope_held, set())
    return frozenset(held)


def require(caller: Caller, scope: Scope) -> None:
    if scope not in granted(caller.scopes):
        raise MissingScope(
            f"this credential lacks the {scope.value!r} scope",
            metadata={"required_scope": scope.value},
        )


def check_token_expiry(caller: Caller) -> None:
    """Refuse a caller whose access token has expired since it authenticated."""
    if caller.token_expire_time is not None and caller.token_expire_time <= now():
        raise InvalidCredential("the bearer token is not valid")


class _Remembered:
    """Callers authenticated lately, by secret digest, each for `seconds`.
    Only successes are kept (a new credential works at once; guessing fills
    nothing). A commit that changes a tenant's state or credentials forgets
    that tenant's callers, so a credential revoked or a tenant suspended
    through this process is refused at once; through another replica, within `seconds`.
    Platform credentials belong to no log: within `seconds` everywhere."""

    _MAX = 10_000

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._callers: dict[str, tuple[Caller, float]] = {}

    def get(self, digest: str) -> Caller | None:
        found = self._callers.get(digest)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def put(self, digest: str, caller: Caller, expire_time: datetime | None) -> None:
        """Remember `caller` for `seconds`, or until its credential expires."""
        seconds = self._seconds
        if expire_time is not None:
            seconds = min(seconds, (expire_time - now()).total_seconds())
        if len(self._callers) >= self._MAX:
            self._callers = {}
        self._callers[digest] = (caller, time.monotonic() + seconds)

    def forget_tenants(self, tenant_ids: frozenset[int]) -> None:
        # Any thread: rebuild and swap rather than delete while others read.
        self._callers = {
            digest: kept
            for digest, kept in self._callers.items()
            if kept[0].tenant_id not in tenant_ids
        }


class Access:
    def __init__(self, db: Database, *, remember_seconds: float = 0) -> None:
        """`remember_seconds` > 0: authenticate a secret from memory for that
        long after the database said yes (one query less per call)."""
        self._db = db
        self._remembered = _Remembered(remember_seconds) if remember_seconds > 0 else None
        if self._remembered is not None:
            db.add_commit_listener(self._remembered.forget_tenants, ACCESS)

    def close(self) -> None:
        if self._remembered is not None:
            self._db.remove_commit_listener(self._remembered.forget_tenants, ACCESS)

    def remembered(self, secret: str) -> Caller | None:
        """The caller of a secret accepted lately, from memory (no I/O: callable
        on the event loop); None when `authenticate` must ask the database."""
        if self._remembered is None or not secret.startswith(_PREFIXES):
            return None
        return self._remembered.get(hash_secret(secret))

    def authenticate(self, secret: str) -> Caller:
        """The caller a bearer secret stands for. Unknown, revoked and expired
        secrets are refused alike."""
        if not secret.startswith(_PREFIXES):
            raise InvalidCredential("the bearer token is not valid")
        digest = hash_secret(secret)
        if self._remembered is not None and (known := self._remembered.get(digest)):
            return known
        expire_time: datetime | None
        if secret.startswith(TOKEN_PREFIX):
            caller, expire_time = self._authenticate_token(digest)
        else:
            caller, expire_time = self._authenticate(digest)
        if self._remembered is not None:
            self._remembered.put(digest, caller, expire_time)
        return caller

    def _authenticate(self, digest: str) -> tuple[Caller, datetime | None]:
        with self._db.read() as conn:
            found = tenant_store.find_by_secret_hash(conn, digest)
        at = now()
        if found is None:
            raise InvalidCredential("the bearer token is not valid")
        credential, row = found
        if credential.revoke_time or (credential.expire_time and credential.expire_time <= at):
            raise InvalidCredential("the bearer token is not valid")
        if row.tenant_state == TenantState.SUSPENDED.value:
            raise TenantSuspended("the tenant is suspended")
        if credential.last_use_time is None or at - credential.last_use_time > LAST_USE_RESOLUTION:
            self._touch(credential.id)
        caller = Caller(credential.id, row.tenant_id, row.tenant_slug, credential.scopes)
        return caller, credential.expire_time

    def _authenticate_token(self, digest: str) -> tuple[Caller, datetime]:
        """An access token is refused once it expires, and at once when its
        client is revoked or expires or its tenant is suspended."""
        with self._db.read() as conn:
            found = token_store.find_by_token_hash(conn, digest)
        at = now()
        if found is None or found.expire_time <= at or found.client_revoke_time:
            raise InvalidCredential("the bearer token is not valid")
        if found.client_expire_time and found.client_expire_time <= at:
            raise InvalidCredential("the bearer token is not valid")
        if found.tenant_state == TenantState.SUSPENDED:
            raise TenantSuspended("the tenant is suspended")
        caller = Caller(
            found.client_id,
            found.tenant_id,
            found.tenant_slug,
            found.scopes,
            access_token=True,
            token_expire_time=found.expire_time,
        )
        return caller, found.expire_time

    def recheck(self, caller: Caller) -> None:
        """Refuse `caller` as `authenticate` would now: for calls that outlive
        their authentication (change streams), once the credential (or the
        access token) is revoked or expired or its tenant suspended."""
        check_token_expiry(caller)
        with self._db.read() as conn:
            tenant = (
                tenant_store.get_tenant(conn, caller.tenant_slug) if caller.tenant_slug else None
            )
            credential = tenant_store.get_credential(conn, tenant, caller.credential_id)
        if (
            credential is None
            or credential.revoke_time
            or (credential.expire_time and credential.expire_time <= now())
        ):
            raise InvalidCredential("the bearer token is not valid")
        if tenant is not None and tenant.state == TenantState.SUSPENDED:
            raise TenantSuspended("the tenant is suspended")

    def _touch(self, credential_id: str) -> None:
        """Record the credential's last use. Bookkeeping: a database that
        takes no writes right now (another process holds SQLite's write
        lock) does not fail the call, a read would otherwise fail for a
        write it never asked for; a later call records the use."""
        try:
            with self._db.write() as conn:
                tenant_store.update_credential(conn, credential_id, last_use_time=now())
        except StorageUnavailable:
            _log.warning(
                "credential %s: last use not recorded, database unavailable", credential_id
            )

    @staticmethod
    def tenant(conn: sa.Connection, caller: Caller, slug: str) -> TenantRef:
        """The tenant `slug` names, as this caller may see it: a tenant
        credential reaches only its own tenant; any other is NOT_FOUND."""
        if caller.tenant_id is not None and caller.tenant_slug is not None:
            if slug not in (OWN_TENANT, caller.tenant_slug):
                raise NotFound(f"tenant {slug!r} not found")
            return TenantRef(caller.tenant_id, caller.tenant_slug)
        tenant = tenant_store.get_tenant(conn, slug) if slug != OWN_TENANT else None
        if tenant is None:
            raise NotFound(f"tenant {slug!r} not found")
        return TenantRef(tenant.id, tenant.slug)
