"""OAuth 2.0 access tokens (RFC 6749 §4.4): a tenant credential, the
client, exchanges itself for a short-lived bearer token with at most its
own scopes. The token is a credential like the others: random, shown once,
stored as a SHA-256 digest (decision 0005), refused once it expires, and at
once when its client is revoked or its tenant suspended (service/access.py
authenticates it; decision 0019)."""

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from identity_service.domain.errors import InvalidCredential, InvalidField
from identity_service.domain.models import Caller, Scope, now
from identity_service.service.access import TOKEN_PREFIX, granted, hash_secret
from identity_service.store import tokens as store
from identity_service.store.engine import Database


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    expire_time: datetime
    scopes: frozenset[Scope]


def new_token() -> str:
    """256 random bits, URL-safe, recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class Tokens:
    def __init__(self, db: Database, *, lifetime: timedelta) -> None:
        self._db = db
        self._lifetime = lifetime

    def issue(self, caller: Caller, client_id: str, scopes: Iterable[str]) -> IssuedToken:
        """A token for the calling credential, which must be the tenant
        credential `client_id` authenticated by its own secret."""
        _check_client(caller, client_id)
        wanted = _wanted(caller, scopes)
        token, at = new_token(), now()
        issued = IssuedToken(token, at + self._lifetime, wanted)
        assert caller.tenant_id is not None  # _check_client refused platform callers
        with self._db.write() as conn:
            store.delete_expired(conn, caller.tenant_id, client_id, at)
            store.insert_token(
                conn,
                token_id=uuid.uuid4().hex,
                tenant_id=caller.tenant_id,
                client_id=client_id,
                scopes=wanted,
                token_hash=hash_secret(token),
                create_time=at,
                expire_time=issued.expire_time,
            )
        return issued


def _check_client(caller: Caller, client_id: str) -> None:
    """The client authenticates with its own secret (RFC 6749 §2.3.1): not
    with an access token, and only a tenant credential is a client. Every
    refusal reads the same, so it tells a guesser nothing."""
    if caller.access_token or caller.is_platform or not client_id:
        raise InvalidCredential("the client credentials are not valid")
    if not secrets.compare_digest(caller.credential_id, client_id):
        raise InvalidCredential("the client credentials are not valid")


def _wanted(caller: Caller, scopes: Iterable[str]) -> frozenset[Scope]:
    """The scopes asked for, each held by the client (RFC 6749 §3.3); none
    asked for: the client's own."""
    values = {s.strip().lower() for s in scopes if s.strip()}
    if not values:
        return caller.scopes
    known = {s.value for s in Scope}
    refused = sorted(v for v in values if v not in known or Scope(v) not in granted(caller.scopes))
    if refused:
        raise InvalidField.of("scopes", f"the client does not hold: {', '.join(refused)}")
    return frozenset(Scope(v) for v in values)
