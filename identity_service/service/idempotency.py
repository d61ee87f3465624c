"""request_id idempotency (AIP-155): a retried mutation returns the first
answer and changes nothing."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa

from identity_service.domain.errors import InvalidField, RequestIdReused
from identity_service.domain.models import TenantRef, now
from identity_service.service import paging, snapshots
from identity_service.service.validation import has_control_characters
from identity_service.store import requests as store

T = TypeVar("T")
MAX_REQUEST_ID_LENGTH = 64
# How long a request_id is remembered (AIP-155 leaves the window to the API).
REPLAY_WINDOW = timedelta(hours=24)


def once(
    conn: sa.Connection,
    tenant: TenantRef,
    request_id: str,
    method: str,
    arguments: tuple[Any, ...],
    result_type: type[T],
    run: Callable[[], T],
) -> T:
    """Run `run` in the caller's transaction, unless `request_id` was seen in
    the last 24 hours: then return the recorded answer. Another request under the same id is
    INVALID_ARGUMENT (REQUEST_ID_REUSED). Without a request_id, just run."""
    if not request_id:
        return run()
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise InvalidField.of("request_id", f"at most {MAX_REQUEST_ID_LENGTH} characters")
    if has_control_characters(request_id):
        raise InvalidField.of("request_id", "must not contain control characters")
    fingerprint = paging.fingerprint(method, *arguments)
    at = now()
    seen = store.find(conn, tenant, request_id)
    if seen is not None and seen.create_time < at - REPLAY_WINDOW:
        store.forget(conn, tenant, request_id)
        seen = None
    if seen is not None:
        if seen.method != method or seen.fingerprint != fingerprint:
            raise RequestIdReused(f"request_id {request_id!r} was used for another request")
        return snapshots.load(result_type, seen.response)
    result = run()
    store.record(
        conn,
        tenant,
        request_id,
        method=method,
        fingerprint=fingerprint,
        response=snapshots.dump(result),
        at=at,
    )
    return result
