"""SQL for request_id idempotency records (AIP-155)."""

from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from identity_service.domain.models import TenantRef
from identity_service.store.schema import RequestRow, as_utc

requests = RequestRow.__table__  # type: ignore[attr-defined]

# Built once, as every write with a request_id runs them: composing a
# statement per call costs more than running it.
_ONE = (
    requests.c.tenant_id == sa.bindparam("tenant_id"),
    requests.c.request_id == sa.bindparam("request_id"),
)
_FIND = sa.select(requests).where(*_ONE)
_RECORD = requests.insert()
_FORGET = requests.delete().where(*_ONE)


class Recorded(NamedTuple):
    method: str
    fingerprint: str
    response: dict[str, Any]
    create_time: datetime


def find(conn: sa.Connection, tenant: TenantRef, request_id: str) -> Recorded | None:
    """The recorded request, or None."""
    row = conn.execute(_FIND, {"tenant_id": tenant.id, "request_id": request_id}).first()
    if row is None:
        return None
    created = as_utc(row.create_time)
    assert created is not None
    return Recorded(row.method, row.fingerprint, row.response, created)


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
        _RECORD,
        {
            "tenant_id": tenant.id,
            "request_id": request_id,
            "method": method,
            "fingerprint": fingerprint,
            "response": response,
            "create_time": at,
        },
    )


def forget(conn: sa.Connection, tenant: TenantRef, request_id: str) -> None:
    conn.execute(_FORGET, {"tenant_id": tenant.id, "request_id": request_id})
