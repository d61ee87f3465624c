"""SQL for tenants and credentials. None of these functions commits."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from identity_service.domain.errors import TenantExists
from identity_service.domain.models import Credential, Scope, Tenant, TenantState
from identity_service.store import paging
from identity_service.store.schema import CredentialRow, TenantRow, as_utc

tenants = TenantRow.__table__  # type: ignore[attr-defined]
credentials = CredentialRow.__table__  # type: ignore[attr-defined]

# Built once: every write locks its tenant, and platform callers look their
# tenant up by slug; composing a statement per call costs more than running it.
_TENANT_BY_SLUG = sa.select(tenants).where(tenants.c.slug == sa.bindparam("slug"))
_LOCK_TENANT = (
    sa.select(tenants.c.id)
    .where(tenants.c.id == sa.bindparam("tenant_id"))
    .with_for_update(key_share=True)
)


def _to_tenant(row: Any) -> Tenant:
    return Tenant(
        id=row.id,
        slug=row.slug,
        display_name=row.display_name,
        state=TenantState(row.state),
        create_time=as_utc(row.create_time),  # type: ignore[arg-type]
        update_time=as_utc(row.update_time),  # type: ignore[arg-type]
    )


def insert_tenant(conn: sa.Connection, slug: str, display_name: str, at: datetime) -> Tenant:
    values = {
        "slug": slug,
        "display_name": display_name,
        "state": TenantState.ACTIVE.value,
        "create_time": at,
        "update_time": at,
    }
    try:
        conn.execute(tenants.insert().values(values))
    except sa.exc.IntegrityError as exc:
        raise TenantExists(f"tenant {slug!r} exists") from exc
    tenant = get_tenant(conn, slug)
    assert tenant is not None
    return tenant


def get_tenant(conn: sa.Connection, slug: str) -> Tenant | None:
    row = conn.execute(_TENANT_BY_SLUG, {"slug": slug}).first()
    return _to_tenant(row) if row else None


def lock_tenant(conn: sa.Connection, tenant_id: int) -> None:
    """Take the tenant row's write lock until the transaction ends (on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already locks the whole database):
    the writers of one tenant then run one after another, each seeing what
    the previous one committed. FOR NO KEY UPDATE, the lock the change-log
    counter's UPDATE takes anyway, so inserts referencing the tenant do not
    wait on it. SQLite, which ignores FOR UPDATE, is not asked."""
    if conn.dialect.name != "sqlite":
        conn.execute(_LOCK_TENANT, {"tenant_id": tenant_id})


def set_tenant_state(conn: sa.Connection, tenant_id: int, state: TenantState, at: datetime) -> None:
    conn.execute(
        tenants.update().where(tenants.c.id == tenant_id).values(state=state.value, update_time=at)
    )


def list_tenants(
    conn: sa.Connection, *, limit: int, after: paging.Key | None
) -> tuple[list[Tenant], paging.Key | None]:
    keys = [paging.SortKey(tenants.c.slug)]
    rows, next_key = paging.fetch_page(
        conn, sa.select(tenants), keys, limit=limit, offset=0, after=after
    )
    return [_to_tenant(r) for r in rows], next_key


def _to_credential(row: Any, tenant_slug: str | None) -> Credential:
    return Credential(
        id=row.id,
        tenant_slug=tenant_slug,
        display_name=row.display_name,
        scopes=frozenset(Scope(s) for s in row.scopes.split(",") if s),
        secret_prefix=row.secret_prefix,
        create_time=as_utc(row.create_time),  # type: ignore[arg-type]
        expire_time=as_utc(row.expire_time),
        last_use_time=as_utc(row.last_use_time),
        revoke_time=as_utc(row.revoke_time),
    )


def insert_credential(
    conn: sa.Connection, tenant: Tenant | None, credential: Credential, secret_hash: str
) -> None:
    conn.execute(
        credentials.insert().values(
            id=credential.id,
            tenant_id=tenant.id if tenant else None,
            display_name=credential.display_name,
            scopes=",".join(sorted(s.value for s in credential.scopes)),
            secret_hash=secret_hash,
            secret_prefix=credential.secret_prefix,
            create_time=credential.create_time,
            expire_time=credential.expire_time,
        )
    )


def _with_tenant() -> sa.Select[Any]:
    return sa.select(credentials, tenants.c.slug.label("tenant_slug")).select_from(
        credentials.outerjoin(tenants, tenants.c.id == credentials.c.tenant_id)
    )


def _scope(tenant: Tenant | None) -> sa.ColumnElement[bool]:
    column: sa.ColumnElement[int | None] = credentials.c.tenant_id
    return column.is_(None) if tenant is None else column == tenant.id


# Built once: change streams recheck their caller's credential with them.
_CREDENTIAL_BY_ID = _with_tenant().where(credentials.c.id == sa.bindparam("credential_id"))
_TENANT_CREDENTIAL = _CREDENTIAL_BY_ID.where(credentials.c.tenant_id == sa.bindparam("tenant_id"))
_PLATFORM_CREDENTIAL = _CREDENTIAL_BY_ID.where(credentials.c.tenant_id.is_(None))


def get_credential(
    conn: sa.Connection, tenant: Tenant | None, credential_id: str
) -> Credential | None:
    if tenant is None:
        row = conn.execute(_PLATFORM_CREDENTIAL, {"credential_id": credential_id}).first()
    else:
        params = {"credential_id": credential_id, "tenant_id": tenant.id}
        row = conn.execute(_TENANT_CREDENTIAL, params).first()
    return _to_credential(row, row.tenant_slug) if row else None


# Built once: every RPC authenticates with it.
_BY_SECRET_HASH = (
    sa.select(
        credentials, tenants.c.slug.label("tenant_slug"), tenants.c.state.label("tenant_state")
    )
    .select_from(credentials.outerjoin(tenants, tenants.c.id == credentials.c.tenant_id))
    .where(credentials.c.secret_hash == sa.bindparam("secret_hash"))
)


def find_by_secret_hash(conn: sa.Connection, secret_hash: str) -> tuple[Credential, Any] | None:
    """The credential with this secret hash, and its tenant's row (or None)."""
    row = conn.execute(_BY_SECRET_HASH, {"secret_hash": secret_hash}).first()
    return (_to_credential(row, row.tenant_slug), row) if row else None


def list_credentials(
    conn: sa.Connection,
    tenant: Tenant | None,
    *,
    show_revoked: bool,
    limit: int,
    after: paging.Key | None,
) -> tuple[list[Credential], paging.Key | None]:
    query = _with_tenant().where(_scope(tenant))
    if not show_revoked:
        query = query.where(credentials.c.revoke_time.is_(None))
    keys = [
        paging.SortKey(credentials.c.create_time, descending=True),
        paging.SortKey(credentials.c.id),
    ]
    rows, next_key = paging.fetch_page(conn, query, keys, limit=limit, offset=0, after=after)
    return [_to_credential(r, r.tenant_slug) for r in rows], next_key


def update_credential(conn: sa.Connection, credential_id: str, **values: Any) -> None:
    conn.execute(credentials.update().where(credentials.c.id == credential_id).values(**values))
