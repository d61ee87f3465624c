"""The load generator's HTTP/1.1 client: asyncio protocols over keep-alive
connections, one request in flight per connection, a pool of connections.

It does only what the benchmark needs (Content-Length and chunked bodies,
no TLS, no redirects), so that on two shared cores the client costs the
servers as little CPU as possible: a general client (httpx) spends several
times more per request. `bench.ceiling` measures what it can send."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.load import Refused

_HEAD_END = b"\r\n\r\n"
_LAST_CHUNK = b"0\r\n\r\n"


class HTTPError(Refused):
    """A response with a status the caller did not expect."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class _Protocol(asyncio.Protocol):
    """One connection: writes a request, parses its response. The head is
    parsed once; a long body is only looked at again once it can be whole."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._transport: asyncio.Transport | None = None
        self._head: tuple[int, int, int] | None = None  # status, body start, length (-1: chunked)
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc or ConnectionError("the server closed the connection"))

    def send(self, request: bytes) -> "asyncio.Future[Response]":
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        if self.closed or self._transport.is_closing():
            self._waiter.set_exception(ConnectionError("the connection is closed"))
        else:
            self._transport.write(request)
        return self._waiter

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._head is None:
            self._head = _head(self._buffer)
            if self._head is None:
                return
        status, start, length = self._head
        if length >= 0:
            if len(self._buffer) < start + length:
                return
            body = bytes(self._buffer[start : start + length])
        elif self._buffer.endswith(_LAST_CHUNK):
            body = _dechunked(self._buffer, start)
        else:
            return
        self._buffer.clear()
        self._head = None
        if self._waiter is not None:
            self._waiter.set_result(Response(status, body))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _head(buffer: bytearray) -> tuple[int, int, int] | None:
    """Status, where the body starts, and its length (-1: chunked)."""
    head_end = buffer.find(_HEAD_END)
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).decode("latin-1").lower()
    status = int(head[9:12])
    if "transfer-encoding: chunked" in head:
        return status, head_end + 4, -1
    marker = head.find("content-length:")
    if marker < 0:
        return status, head_end + 4, 0
    end = head.find("\r\n", marker)
    return status, head_end + 4, int(head[marker + 15 : end if end >= 0 else None])


def _dechunked(buffer: bytearray, position: int) -> bytes:
    """The body of a whole chunked message (no trailers)."""
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", position)
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        if size == 0:
            return bytes(body)
        body += buffer[line_end + 2 : line_end + 2 + size]
        position = line_end + 2 + size + 2


class Client:
    """Requests to one server over a pool of keep-alive connections, opened
    on demand and reused (as many as requests were ever in flight)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        fixed = {"Host": f"{self._host}:{self._port}", **headers}
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._idle: list[_Protocol] = []
        self._all: list[_Protocol] = []

    async def request(
        self, method: str, path: str, body: bytes = b"", expect: int | tuple[int, ...] = 200
    ) -> Response:
        """Send `method` `prefix+path`; fail unless the status is `expect`."""
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n{self._head}"
        if body:
            head += f"Content-Type: application/scim+json\r\nContent-Length: {len(body)}\r\n"
        message = head.encode() + b"\r\n" + body
        try:
            response = await self._send(message, await self._connection())
        except ConnectionError:
            # The server closed an idle connection as this request went out
            # (uvicorn closes them after 5 s): once more, on a new one.
            response = await self._send(message, await self._connect())
        allowed = (expect,) if isinstance(expect, int) else expect
        if response.status not in allowed:
            raise HTTPError(f"{method} {path}: {response.status} {response.body[:300]!r}")
        return response

    async def _connection(self) -> _Protocol:
        """An idle open connection, or a new one."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return await self._connect()

    async def _send(self, message: bytes, connection: _Protocol) -> Response:
        response = await connection.send(message)
        if not connection.closed:
            self._idle.append(connection)
        return response

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Protocol, self._host, self._port)
        self._all.append(protocol)
        return protocol

    def close(self) -> None:
        for connection in self._all:
            connection.close()
        self._idle.clear()


@asynccontextmanager
async def client(base_url: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    opened = Client(base_url, headers)
    try:
        yield opened
    finally:
        opened.close()
