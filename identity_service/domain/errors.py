"""Domain errors: each class carries its gRPC status code name and ErrorInfo reason.

The servicer layer converts them to rich statuses in exactly one place
(`servicers.interceptor`). Codes are names of grpc.StatusCode so that this
module does not import grpc.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field (google.rpc.BadRequest.FieldViolation)."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error a client can cause; never a 500."""

    code = "INTERNAL"
    reason = "ERROR_REASON_UNSPECIFIED"
    # Seconds after which the same call may succeed (google.rpc.RetryInfo).
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        metadata: dict[str, str] | None = None,
        violations: list[FieldViolation] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = metadata or {}
        self.violations = violations or []


class InvalidCredential(DomainError):
    code = "UNAUTHENTICATED"
    reason = "INVALID_CREDENTIAL"


class MissingScope(DomainError):
    code = "PERMISSION_DENIED"
    reason = "MISSING_SCOPE"


class TenantSuspended(DomainError):
    code = "PERMISSION_DENIED"
    reason = "TENANT_SUSPENDED"


class InvalidField(DomainError):
    code = "INVALID_ARGUMENT"
    reason = "INVALID_FIELD"

    @classmethod
    def of(cls, field_path: str, description: str) -> "InvalidField":
        return cls(
            f"{field_path}: {description}",
            violations=[FieldViolation(field_path, description)],
        )

    def within(self, prefix: str) -> "InvalidField":
        """The same error with field paths relative to the request field
        `prefix` that holds the resource (AIP-193: paths lead from the request)."""
        violations = [FieldViolation(f"{prefix}.{v.field}", v.description) for v in self.violations]
        message = "; ".join(f"{v.field}: {v.description}" for v in violations)
        return InvalidField(message, metadata=self.metadata, violations=violations)


class InvalidFilter(DomainError):
    code = "INVALID_ARGUMENT"
    reason = "INVALID_FILTER"


class InvalidOrderBy(DomainError):
    code = "INVALID_ARGUMENT"
    reason = "INVALID_ORDER_BY"


class InvalidPageToken(DomainError):
    code = "INVALID_ARGUMENT"
    reason = "INVALID_PAGE_TOKEN"


class InvalidUpdateMask(DomainError):
    code = "INVALID_ARGUMENT"
    reason = "INVALID_UPDATE_MASK"


class RequestIdReused(DomainError):
    code = "INVALID_ARGUMENT"
    reason = "REQUEST_ID_REUSED"


class InvalidMember(DomainError):
    code = "INVALID_ARGUMENT"
    reason = "INVALID_MEMBER"


class NotFound(DomainError):
    code = "NOT_FOUND"
    reason = "NOT_FOUND"


class UserNameTaken(DomainError):
    code = "ALREADY_EXISTS"
    reason = "USER_NAME_TAKEN"


class ExternalIdTaken(DomainError):
    code = "ALREADY_EXISTS"
    reason = "EXTERNAL_ID_TAKEN"


class GroupNameTaken(DomainError):
    code = "ALREADY_EXISTS"
    reason = "GROUP_NAME_TAKEN"


class TenantExists(DomainError):
    code = "ALREADY_EXISTS"
    reason = "TENANT_EXISTS"


class EtagMismatch(DomainError):
    code = "ABORTED"
    reason = "ETAG_MISMATCH"


class InvalidState(DomainError):
    code = "FAILED_PRECONDITION"
    reason = "INVALID_STATE"


class UndeleteConflict(DomainError):
    code = "FAILED_PRECONDITION"
    reason = "UNDELETE_CONFLICT"


class CursorExpired(DomainError):
    """A change cursor older than the log's retention (the client re-lists)."""

    code = "FAILED_PRECONDITION"
    reason = "CURSOR_EXPIRED"


class ShuttingDown(DomainError):
    """The server is shutting down: retry on another replica."""

    code = "UNAVAILABLE"
    reason = "SHUTTING_DOWN"


class StorageUnavailable(DomainError):
    """The database cannot be reached or timed out; the transaction changed
    nothing. Retry with backoff."""

    code = "UNAVAILABLE"
    reason = "STORAGE_UNAVAILABLE"


class TooManyItems(DomainError):
    code = "RESOURCE_EXHAUSTED"
    reason = "TOO_MANY_ITEMS"

    @classmethod
    def over(cls, what: str, limit: int) -> "TooManyItems":
        return cls(f"at most {limit} {what} per request", metadata={"limit": str(limit)})


class RateLimited(DomainError):
    """The caller's tenant or credential is over its rate limit; the call
    did nothing and may succeed after `retry_after` seconds."""

    code = "RESOURCE_EXHAUSTED"
    reason = "RATE_LIMITED"

    def __init__(self, message: str, *, bucket: str, retry_after: float) -> None:
        super().__init__(message, metadata={"bucket": bucket})
        self.retry_after = retry_after
