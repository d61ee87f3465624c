"""The one server interceptor: authenticates every call, converts domain
errors into rich statuses (google.rpc.Status with ErrorInfo and BadRequest),
writes one log line per RPC and counts it in the metrics. Secrets are never
logged."""

import asyncio
import contextlib
import contextvars
import dataclasses
import datetime
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from identity_service.domain.errors import DomainError, InvalidCredential
from identity_service.domain.models import Caller, Origin
from identity_service.service.access import Access
from identity_service.servicers import metrics
from identity_service.servicers.ratelimit import RateLimiter

ERROR_DOMAIN = "roster.identity.v1"
# Health checks answer without a credential: orchestrators and load balancers call them.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/",)

# Call metadata a caller (the SCIM facade) sends to report the request it
# calls for: recorded as the actor of changes, never trusted for access.
ORIGIN_METHOD = "x-roster-origin-method"
ORIGIN_PATH = "x-roster-origin-path"
ORIGIN_CLIENT = "x-roster-origin-client"
# The caller's id of its request (the facade sends the SCIM request's
# X-Request-Id): on the RPC's log line and in its change records.
REQUEST_ID = "x-request-id"
# Trailing metadata of every authenticated call: the tenant it was served
# for, which the facade counts its requests by.
TENANT = "x-roster-tenant"
_ORIGIN_MAX = 512  # characters kept of each value
_REQUEST_ID_MAX = 64  # the change log's request_id column

_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("caller")
_log = logging.getLogger("identity_service.rpc")

Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]
StreamBehavior = Callable[[Any, Context], AsyncIterator[Any]]
# grpc-stubs types are generic where the runtime classes are not.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


def caller() -> Caller:
    """The authenticated caller of the RPC being served."""
    return _caller.get()


def own_tenant(slug: str) -> str:
    """`slug`, with "-" read as the caller's own tenant (AIP-159): answers
    carry real names, and names in a request compare with the real slug."""
    return (caller().tenant_slug or slug) if slug == "-" else slug


def rich_status(error: DomainError) -> status_pb2.Status:
    """google.rpc.Status for a domain error (AIP-193)."""
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
    )
    details: list[Message] = [info]
    if error.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromTimedelta(datetime.timedelta(seconds=error.retry_after))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
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


_ORIGIN_KEYS = (ORIGIN_METHOD, ORIGIN_PATH, ORIGIN_CLIENT, REQUEST_ID)


def _credentials(context: Context) -> tuple[str, Origin | None]:
    """The bearer secret of the call ("" when it sends none), and the
    request it reports (None when it reports none), read in one pass over
    its metadata."""
    secret, values = "", {}
    for key, value in context.invocation_metadata() or ():
        if not isinstance(value, str):
            continue
        if key == "authorization" and not secret:
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer":
                secret = token.strip()
        elif key in _ORIGIN_KEYS:
            values[key] = value[: _REQUEST_ID_MAX if key == REQUEST_ID else _ORIGIN_MAX]
    if not values:
        return secret, None
    return secret, Origin(*(values.get(key, "") for key in _ORIGIN_KEYS))


# Every kind of method handler, and how to rebuild one around a wrapped behavior.
_HANDLER_KINDS = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler),
    ("unary_stream", grpc.unary_stream_rpc_method_handler),
    ("stream_unary", grpc.stream_unary_rpc_method_handler),
    ("stream_stream", grpc.stream_stream_rpc_method_handler),
)


class Interceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, access: Access, limiter: RateLimiter) -> None:
        self._access = access
        self._limiter = limiter
        # method -> its wrapped handler: the services are fixed once the
        # server starts, so each method is wrapped once, not on every call.
        self._handlers: dict[str, Handler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        method: str = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is None:
            handler = self._wrapped(method, await continuation(handler_call_details))
            if handler is not None:  # None: no such method, grpc answers UNIMPLEMENTED
                self._handlers[method] = handler
        return handler

    def _wrapped(self, method: str, handler: Handler) -> Handler:
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        # Every kind of method is wrapped, streams too: one left unwrapped
        # would answer without a credential.
        for kind, rebuild in _HANDLER_KINDS:
            behavior = getattr(handler, kind)
            if behavior is not None:
                wrap = self._wrap_stream if inspect.isasyncgenfunction(behavior) else self._wrap
                wrapped: Handler = rebuild(
                    wrap(method, behavior),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
                return wrapped
        return handler

    def _wrap(self, method: str, behavior: Behavior) -> Behavior:
        async def serve(request: Any, context: Context) -> Any:
            async with self._serving(method, request, context):
                return await behavior(request, context)
            return None  # not reached: _serving ends every failed call with an abort

        return serve

    def _wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        async def serve(request: Any, context: Context) -> AsyncIterator[Any]:
            async with self._serving(method, request, context) as tenant:
                with metrics.stream_open(tenant):
                    async for response in behavior(request, context):
                        yield response

        return serve

    @contextlib.asynccontextmanager
    async def _serving(self, method: str, request: Any, context: Context) -> AsyncIterator[str]:
        """Authenticate the call and make its caller current (yields its
        tenant); end a failed call with a rich status; write the RPC's one
        log line and count it."""
        started = time.perf_counter()
        status, tenant, request_id = "OK", "-", getattr(request, "request_id", "")
        try:
            secret, origin = _credentials(context)
            if origin is not None:
                request_id = request_id or origin.request_id
            if not secret:
                raise InvalidCredential(
                    "missing bearer credential: send 'authorization: Bearer <secret>'"
                )
            who = self._access.remembered(secret)
            if who is None:
                who = await asyncio.to_thread(self._access.authenticate, secret)
            if origin is not None:
                who = dataclasses.replace(who, origin=origin)
            tenant = who.tenant_slug or "platform"
            context.set_trailing_metadata(((TENANT, tenant),))
            # Once per call: a stream counts when it opens, not per message.
            self._limiter.admit(method, who)
            token = _caller.set(who)
            try:
                yield tenant
            finally:
                # grpc closes a stream the client cancelled from another
                # context, where the token cannot be reset (ValueError); the
                # RPC's own context ends with the call, so nothing leaks.
                with contextlib.suppress(ValueError):
                    _caller.reset(token)
        except (asyncio.CancelledError, GeneratorExit):
            status = "CANCELLED"
            raise
        except DomainError as error:
            status = error.code
            await _abort(context, error, tenant)
        except Exception:
            status = "INTERNAL"
            _log.exception("unexpected error in %s", method)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        finally:
            seconds = time.perf_counter() - started
            metrics.observe(method, status, tenant, seconds)
            _log_rpc(method, tenant, status, seconds, request_id or "-")


async def _abort(context: Context, error: DomainError, tenant: str) -> None:
    """End the call with the rich status of `error`, and the tenant in its
    trailing metadata once the caller is known (an abort replaces the
    trailing metadata set before)."""
    status = rpc_status.to_status(rich_status(error))
    trailing = tuple(status.trailing_metadata)
    if tenant != "-":
        trailing += ((TENANT, tenant),)
    await context.abort(status.code, status.details, trailing)


def _log_rpc(method: str, tenant: str, status: str, seconds: float, request_id: str) -> None:
    """The RPC's one log line; its fields also as a JSON log's keys."""
    if not _log.isEnabledFor(logging.INFO):
        return
    duration_ms = round(seconds * 1000, 2)
    _log.info(
        "rpc method=%s tenant=%s status=%s duration_ms=%.2f request_id=%s",
        method,
        tenant,
        status,
        duration_ms,
        request_id,
        extra={
            "fields": {
                "rpc": method,
                "tenant": tenant,
                "status": status,
                "duration_ms": duration_ms,
                "request_id": request_id,
            }
        },
    )
