"""The load generator's own ceiling: the same client and closed loop
against a server that does nothing (a fixed small JSON answer from a bare
asyncio protocol, in a process of its own), at the same concurrency. A
server measured near this rate is measured by the client, not by itself.

`python -m bench.ceiling PORT` is that server; it prints {"ready": true}."""

import asyncio
import json
import sys

from bench import processes
from bench.http import client
from bench.load import Measured, closed_loop

_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 2\r\n\r\n{}"


class _Trivial(asyncio.Protocol):
    """Answers every request head (bodies are not sent to it) at once."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        assert self._transport is not None
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            del self._buffer[: end + 4]
            self._transport.write(_ANSWER)


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Trivial, "127.0.0.1", port)
    print(json.dumps({"ready": True}), flush=True)
    async with server:
        await server.serve_forever()


async def measure(concurrency: int, seconds: float) -> Measured:
    """The client's requests per second against the trivial server."""
    port = processes.free_port()
    command = [sys.executable, "-m", "bench.ceiling", str(port)]
    async with (
        processes.started("ceiling", command),
        client(f"http://127.0.0.1:{port}", {}) as http,
    ):

        async def call(_: int) -> object:
            return await http.request("GET", "/")

        await closed_loop(call, concurrency=concurrency, seconds=1.0)
        return await closed_loop(call, concurrency=concurrency, seconds=seconds)


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))
