"""The one server interceptor: authenticates every call, converts domain
errors into rich statuses (google.rpc.Status with ErrorInfo and BadRequest),
and writes one log line per RPC. Secrets are never logged."""

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from identity_service.domain.errors import DomainError, InvalidCredential
from identity_service.domain.models import Caller
from identity_service.service.access import Access

ERROR_DOMAIN = "roster.identity.v1"
# Health checks and reflection answer without a credential.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("caller")
_log = logging.getLogger("identity_service.rpc")

Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]
# grpc-stubs types are generic where the runtime classes are not.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


def caller() -> Caller:
    """The authenticated caller of the RPC being served."""
    return _caller.get()


def rich_status(error: DomainError) -> status_pb2.Status:
    """google.rpc.Status for a domain error (AIP-193)."""
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
    )
    details = [info]
    if error.violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return status_pb2.Status(
        code=code_pb2.Code.Value(error.code), message=error.message, details=packed
    )


def _bearer(context: Context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, secret = value.partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return secret.strip()
    raise InvalidCredential("missing bearer credential: send 'authorization: Bearer <secret>'")


class Interceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, access: Access) -> None:
        self._access = access

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(PUBLIC_PREFIXES) or not handler.unary_unary:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(method, handler.unary_unary),  # type: ignore[arg-type]
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap(self, method: str, behavior: Behavior) -> Behavior:
        async def serve(request: Any, context: Context) -> Any:
            started = time.perf_counter()
            status, tenant = "OK", "-"
            try:
                who = await asyncio.to_thread(self._access.authenticate, _bearer(context))
                tenant = who.tenant_slug or "platform"
                token = _caller.set(who)
                try:
                    return await behavior(request, context)
                finally:
                    _caller.reset(token)
            except DomainError as error:
                status = error.code
                # grpc-stubs lacks the asyncio context's abort_with_status.
                await context.abort_with_status(  # type: ignore[attr-defined]
                    rpc_status.to_status(rich_status(error))
                )
            except Exception:
                status = "INTERNAL"
                _log.exception("unexpected error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                _log.info(
                    "rpc method=%s tenant=%s status=%s duration_ms=%.2f request_id=%s",
                    method,
                    tenant,
                    status,
                    (time.perf_counter() - started) * 1000,
                    getattr(request, "request_id", "") or "-",
                )

        return serve
