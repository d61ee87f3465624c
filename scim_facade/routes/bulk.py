"""POST /Bulk (RFC 7644 §3.7): the body read up to maxPayloadSize, then each
operation dispatched in-process to the facade's own routes (the same ASGI
app, the caller's Authorization), so every endpoint and every rule the
routes enforce apply to bulk operations too."""

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.types import ASGIApp, Message, Receive, Scope

from scim_facade import bulk
from scim_facade.responses import SCIM_JSON, ScimResponse, scim
from scim_facade.routes import openapi
from scim_facade.routes.common import PREFIX, bearer_token, check_media_type
from scim_facade.settings import Settings

router = APIRouter(tags=["Bulk"])


@router.post("/Bulk", openapi_extra=openapi.BULK)
async def bulk_request(request: Request) -> ScimResponse:
    """Run a BulkRequest; 413 beyond maxOperations or maxPayloadSize (§3.7.4)."""
    bearer_token(request)
    check_media_type(request)
    settings: Settings = request.app.state.settings
    raw = await _body(request, settings.bulk_max_payload_bytes)
    job = bulk.parse(raw, settings.bulk_max_operations)
    base_url = str(request.base_url).rstrip("/") + PREFIX
    return scim(await bulk.run(job, InProcess(request.app, request.scope), base_url))


async def _body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed
    `limit` bytes: by its Content-Length, or while it is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise bulk.payload_too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise bulk.payload_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class InProcess:
    """A bulk.Dispatch: each operation as an HTTP request to `app` itself,
    with the host and the Authorization of the bulk request."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self._app = app
        self._scope = scope
        kept = (b"host", b"authorization")
        self._headers = [(k, v) for k, v in scope["headers"] if k.lower() in kept]

    async def __call__(
        self, method: str, path: str, body: bytes | None, if_match: str | None
    ) -> bulk.Reply:
        headers = list(self._headers)
        if body is not None:
            headers += [
                (b"content-type", SCIM_JSON.encode()),
                (b"content-length", b"%d" % len(body)),
            ]
        if if_match is not None:
            headers.append((b"if-match", if_match.encode("latin-1", "replace")))
        reply = _Collected()
        try:
            await self._app(
                self._request(method, path, headers), _once(body, reply.done), reply.send
            )
        except Exception:
            # Starlette re-raises an unexpected error after the app answered it
            # with a logged 500; that 500 is this operation's result.
            if not reply.done.is_set():
                raise
        return reply.result()

    def _request(self, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
        outer = self._scope
        full = outer.get("root_path", "") + PREFIX + path
        return {
            "type": "http",
            "asgi": outer.get("asgi", {"version": "3.0"}),
            "http_version": outer.get("http_version", "1.1"),
            "method": method,
            "scheme": outer.get("scheme", "http"),
            "server": outer.get("server"),
            "client": outer.get("client"),
            "root_path": outer.get("root_path", ""),
            "path": full,
            "raw_path": quote(full).encode("ascii"),
            "query_string": b"",
            "headers": headers,
        }


def _once(body: bytes | None, done: asyncio.Event) -> Receive:
    """The request body in one message; then, once answered, a disconnect."""
    pending: list[Message] = [{"type": "http.request", "body": body or b"", "more_body": False}]

    async def receive() -> Message:
        if pending:
            return pending.pop()
        await done.wait()
        return {"type": "http.disconnect"}

    return receive


class _Collected:
    """The response of one operation, as the app sends it."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: dict[bytes, bytes] = {}
        self.chunks: list[bytes] = []
        self.done = asyncio.Event()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.lower(): v for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.done.set()

    def result(self) -> bulk.Reply:
        location, etag = self.headers.get(b"location"), self.headers.get(b"etag")
        return bulk.Reply(
            status=self.status,
            location=location.decode("latin-1") if location else None,
            etag=etag.decode("latin-1") if etag else None,
            body=b"".join(self.chunks),
        )
