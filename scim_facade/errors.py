"""SCIM errors (RFC 7644 §3.12) and the one table that turns identity_service's
gRPC statuses into them."""

import math
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
# identity_service unreachable or overloaded: try again after this many
# seconds, unless its status carries a RetryInfo (a rate limit's wait).
RETRY_AFTER_SECONDS = 5


class ScimError(Exception):
    """An error answered as a SCIM Error body with `status` as a string."""

    def __init__(
        self,
        status: int,
        detail: str,
        scim_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidSyntax")


def unauthorized(detail: str) -> ScimError:
    # RFC 6750 §3: a 401 names the scheme the client must use.
    return ScimError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="scim"'})


@dataclass(frozen=True)
class _Mapped:
    status: int
    scim_type: str | None = None


# ErrorInfo reason -> SCIM answer; reasons not listed fall back to _BY_CODE.
_BY_REASON: dict[str, _Mapped] = {
    "INVALID_FILTER": _Mapped(400, "invalidFilter"),
    "INVALID_FIELD": _Mapped(400, "invalidValue"),
    "INVALID_MEMBER": _Mapped(400, "invalidValue"),
    "INVALID_ORDER_BY": _Mapped(400, "invalidValue"),
    "INVALID_UPDATE_MASK": _Mapped(400, "invalidPath"),
    "REQUEST_ID_REUSED": _Mapped(400, "invalidValue"),
    # RFC 9865 §2.3: a cursor the server cannot read.
    "INVALID_PAGE_TOKEN": _Mapped(400, "invalidCursor"),
    "USER_NAME_TAKEN": _Mapped(409, "uniqueness"),
    "EXTERNAL_ID_TAKEN": _Mapped(409, "uniqueness"),
    "GROUP_NAME_TAKEN": _Mapped(409, "uniqueness"),
    "ETAG_MISMATCH": _Mapped(412),
    "TOO_MANY_ITEMS": _Mapped(413),
    "RATE_LIMITED": _Mapped(429),
    "INVALID_CREDENTIAL": _Mapped(401),
    "MISSING_SCOPE": _Mapped(403),
    "TENANT_SUSPENDED": _Mapped(403),
    "NOT_FOUND": _Mapped(404),
}
_BY_CODE: dict[grpc.StatusCode, _Mapped] = {
    grpc.StatusCode.INVALID_ARGUMENT: _Mapped(400, "invalidValue"),
    grpc.StatusCode.NOT_FOUND: _Mapped(404),
    grpc.StatusCode.ALREADY_EXISTS: _Mapped(409, "uniqueness"),
    grpc.StatusCode.ABORTED: _Mapped(412),
    grpc.StatusCode.FAILED_PRECONDITION: _Mapped(400, "invalidValue"),
    grpc.StatusCode.UNAUTHENTICATED: _Mapped(401),
    grpc.StatusCode.PERMISSION_DENIED: _Mapped(403),
    grpc.StatusCode.RESOURCE_EXHAUSTED: _Mapped(429),
    grpc.StatusCode.UNIMPLEMENTED: _Mapped(501),
    grpc.StatusCode.UNAVAILABLE: _Mapped(503),
    grpc.StatusCode.DEADLINE_EXCEEDED: _Mapped(503),
}


def _details(error: grpc.aio.AioRpcError) -> tuple[str, int]:
    """The ErrorInfo reason ("" without one) and the RetryInfo wait in whole
    seconds, rounded up (RETRY_AFTER_SECONDS without one) of a failed call."""
    reason, retry_after = "", RETRY_AFTER_SECONDS
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = str(info.reason)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            # RFC 9110 §10.2.3: Retry-After is whole seconds; never 0.
            retry_after = max(1, math.ceil(retry.retry_delay.ToTimedelta().total_seconds()))
    return reason, retry_after


def from_grpc(error: grpc.aio.AioRpcError) -> ScimError:
    """The SCIM error for a failed identity_service call."""
    reason, retry_after = _details(error)
    mapped = _BY_REASON.get(reason) or _BY_CODE.get(error.code(), _Mapped(500))
    detail = error.details() or error.code().name
    if mapped.status == 401:
        return unauthorized(detail)
    if mapped.status in (429, 503):
        retry = {"Retry-After": str(retry_after)}
        reason = detail if mapped.status == 429 else "identity service unavailable; retry later"
        return ScimError(mapped.status, reason, headers=retry)
    if mapped.status == 500:
        return ScimError(500, "internal error")
    return ScimError(mapped.status, detail, mapped.scim_type)
