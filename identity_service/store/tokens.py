"""SQL for OAuth 2.0 access tokens: rows of `access_tokens`, each tied to
the client credential it was issued to. None of these functions commits."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from identity_service.domain.models import Scope, TenantState
from identity_service.store.schema import AccessTokenRow, as_utc
from identity_service.store.tenants import credentials, tenants

access_tokens = AccessTokenRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FoundToken:
    """An access token as authentication sees it: with its client's and
    its tenant's state, so one read decides."""

    client_id: str
    tenant_id: int
    tenant_slug: str
    tenant_state: TenantState
    scopes: frozenset[Scope]
    expire_time: datetime
    client_expire_time: datetime | None
    client_revoke_time: datetime | None


# Built once: every call with an access token authenticates with it.
_BY_TOKEN_HASH = (
    sa.select(
        access_tokens.c.client_id,
        access_tokens.c.tenant_id,
        access_tokens.c.scopes,
        access_tokens.c.expire_time,
        tenants.c.slug.label("tenant_slug"),
        tenants.c.state.label("tenant_state"),
        credentials.c.expire_time.label("client_expire_time"),
        credentials.c.revoke_time.label("client_revoke_time"),
    )
    .select_from(
        access_tokens.join(credentials, credentials.c.id == access_tokens.c.client_id).join(
            tenants, tenants.c.id == access_tokens.c.tenant_id
        )
    )
    .where(access_tokens.c.token_hash == sa.bindparam("token_hash"))
)


def find_by_token_hash(conn: sa.Connection, token_hash: str) -> FoundToken | None:
    row = conn.execute(_BY_TOKEN_HASH, {"token_hash": token_hash}).first()
    if row is None:
        return None
    expire_time = as_utc(row.expire_time)
    assert expire_time is not None
    return FoundToken(
        client_id=row.client_id,
        tenant_id=row.tenant_id,
        tenant_slug=row.tenant_slug,
        tenant_state=TenantState(row.tenant_state),
        scopes=frozenset(Scope(s) for s in row.scopes.split(",") if s),
        expire_time=expire_time,
        client_expire_time=as_utc(row.client_expire_time),
        client_revoke_time=as_utc(row.client_revoke_time),
    )


def insert_token(
    conn: sa.Connection,
    *,
    token_id: str,
    tenant_id: int,
    client_id: str,
    scopes: frozenset[Scope],
    token_hash: str,
    create_time: datetime,
    expire_time: datetime,
) -> None:
    conn.execute(
        access_tokens.insert().values(
            id=token_id,
            tenant_id=tenant_id,
            client_id=client_id,
            scopes=",".join(sorted(s.value for s in scopes)),
            token_hash=token_hash,
            create_time=create_time,
            expire_time=expire_time,
        )
    )


def delete_expired(conn: sa.Connection, tenant_id: int, client_id: str, at: datetime) -> None:
    """Forget a client's tokens that expired: nothing accepts them anyway."""
    conn.execute(
        access_tokens.delete().where(
            access_tokens.c.tenant_id == tenant_id,
            access_tokens.c.client_id == client_id,
            access_tokens.c.expire_time <= at,
        )
    )
