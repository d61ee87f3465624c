"""The request body size limit of every route: a body larger than its
route's limit is refused with 413 before it is parsed (RFC 9110 §15.5.14),
from its Content-Length without reading it, or as soon as a body sent
without one (chunked) has grown past the limit. /Bulk has its own limit,
the advertised maxPayloadSize (RFC 7644 §3.7.4); every other route has
`max_body_bytes`."""

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scim_facade.bulk import payload_too_large
from scim_facade.errors import ScimError
from scim_facade.responses import ScimResponse

Refusal = Callable[[int], ScimError]


def body_too_large(limit: int) -> ScimError:
    """413 naming the limit; RFC 7644 §3.12 has no scimType for it."""
    return ScimError(413, f"The request body exceeds the maximum of {limit} bytes.")


class BodyLimit:
    """ASGI middleware: 413 for a body past its route's limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, bulk_max_payload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.bulk_max_payload_bytes = bulk_max_payload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, refusal = self._limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            error = refusal(limit)
            answer = ScimResponse(error.body(), status_code=error.status, headers=error.headers)
            await answer(scope, receive, send)
            return
        await self.app(scope, _counted(receive, limit, refusal), send)

    def _limit(self, path: str) -> tuple[int, Refusal]:
        if path.rstrip("/").lower().endswith("/bulk"):
            return self.bulk_max_payload_bytes, payload_too_large
        return self.max_body_bytes, body_too_large


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _counted(receive: Receive, limit: int, refusal: Refusal) -> Receive:
    """`receive`, raising the 413 once the body read so far exceeds
    `limit` (the route's error handler answers it)."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise refusal(limit)
        return message

    return counted
