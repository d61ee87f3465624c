"""SQL for request_id idempotency records (AIP-155)."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from identity_service.domain.models import TenantRef
from identity_service.store.schema import RequestRow

requests = RequestRow.__table__  # type: ignore[attr-defined]


def find(conn: sa.Connection, tenant: TenantRef, request_id: str) -> Any | None:
    """The recorded request (method, fingerprint, response), or None."""
    return conn.execute(
        sa.select(requests).where(
            requests.c.tenant_id == tenant.id, requests.c.request_id == request_id
        )
    ).first()


def record(
    conn: sa.Connection,
    tenant: TenantRef,
    request_id: str,
    *,
    method: str,
    fingerprint: str,
    response: dict[str, Any],
    at: datetime,
) -> None:
    conn.execute(
        requests.insert().values(
            tenant_id=tenant.id,
            request_id=request_id,
            method=method,
            fingerprint=fingerprint,
            response=response,
            create_time=at,
        )
    )
