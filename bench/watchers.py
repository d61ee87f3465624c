"""Idle change streams held open by a process of their own, so holding them
costs the load generator nothing; and the benchmark's handle on it.

`python -m bench.watchers TARGET COUNT` opens COUNT WatchChanges streams of
the credential's own tenant ("tenants/-", from now on) with the bearer
secret in ROSTER_TOKEN, prints {"open": ...} once every stream has sent its
first checkpoint (the end of its empty backlog), then answers commands on
stdin, one JSON line each: `mark` starts counting checkpoints afresh,
`report` says how many arrived since (in all, and on the stream that got
fewest). The streams open all at once, as clients reconnecting after a
deploy would. It exits at the end of stdin, and with an error as soon as
any stream ends."""

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from identity.v1 import change_service_pb2, change_service_pb2_grpc

from bench.processes import environment
from bench.systems import System
from identity_service.cli_client import TOKEN_VARIABLE

# Streams share connections as many callers of one service would; every
# channel gets a connection of its own (a local subchannel pool).
STREAMS_PER_CONNECTION = 50
_OPEN_SECONDS = 120.0
_REPLY_SECONDS = 30.0


@dataclass(frozen=True)
class Checkpoints:
    """Checkpoints the streams received between `mark` and `report`."""

    fewest: int  # of the stream that received the fewest
    total: int


class Watchers:
    """The benchmark's end: the holding process, started and commanded."""

    def __init__(self, process: asyncio.subprocess.Process, opened_seconds: float) -> None:
        self._process = process
        self.opened_seconds = opened_seconds

    @classmethod
    @asynccontextmanager
    async def holding(cls, system: System, count: int) -> AsyncIterator["Watchers"]:
        """`count` idle streams, every one open (its first checkpoint received)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.watchers",
            system.grpc_target,
            str(count),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**environment(), TOKEN_VARIABLE: system.watch_secret},
        )
        try:
            opened = await _reply(process, _OPEN_SECONDS)
            yield cls(process, float(opened["seconds"]))
        finally:
            await _end(process)

    async def mark(self) -> None:
        await self._command("mark")

    async def report(self) -> Checkpoints:
        counted = await self._command("report")
        return Checkpoints(int(counted["fewest"]), int(counted["total"]))

    async def _command(self, command: str) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(f"{command}\n".encode())
        await self._process.stdin.drain()
        return await _reply(self._process, _REPLY_SECONDS)


async def _reply(process: asyncio.subprocess.Process, seconds: float) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), seconds)
    if not line:
        raise RuntimeError(f"the watchers process ended with {await process.wait()}")
    reply: dict[str, Any] = json.loads(line)
    return reply


async def _end(process: asyncio.subprocess.Process) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), _REPLY_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()


class _Streams:
    """The holding process's end: the streams and their checkpoint counts."""

    def __init__(self, count: int) -> None:
        self.checkpoints = [0] * count
        self.opening = count
        self.all_open = asyncio.Event()

    async def follow(
        self,
        index: int,
        stub: "change_service_pb2_grpc.ChangeServiceAsyncStub",  # type-checking only
        metadata: tuple[tuple[str, str], ...],
    ) -> None:
        """Count the checkpoints of stream `index`; the first one opens it."""
        request = change_service_pb2.WatchChangesRequest(parent="tenants/-")
        async for response in stub.WatchChanges(request, metadata=metadata):
            if response.HasField("checkpoint"):
                if self.checkpoints[index] == 0 and not self.all_open.is_set():
                    self.opening -= 1
                    if self.opening == 0:
                        self.all_open.set()
                self.checkpoints[index] += 1
        raise RuntimeError(f"stream {index} ended")

    def mark(self) -> dict[str, Any]:
        self.checkpoints = [0] * len(self.checkpoints)
        return {"marked": True}

    def report(self) -> dict[str, Any]:
        return {"fewest": min(self.checkpoints), "total": sum(self.checkpoints)}


async def _hold(target: str, count: int, token: str) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    streams = _Streams(count)
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(0, count, STREAMS_PER_CONNECTION)
    ]
    stubs = [change_service_pb2_grpc.ChangeServiceStub(channel) for channel in channels]
    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(streams.follow(i, stubs[i // STREAMS_PER_CONNECTION], metadata))
            for i in range(count)
        ]
        await streams.all_open.wait()
        _say({"open": count, "seconds": time.perf_counter() - started})
        await _serve_commands(streams)
        for task in tasks:
            task.cancel()
    for channel in channels:
        await channel.close(grace=None)


async def _serve_commands(streams: _Streams) -> None:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    commands = {"mark": streams.mark, "report": streams.report}
    while line := await reader.readline():
        _say(commands[line.decode().strip()]())


def _say(reply: dict[str, Any]) -> None:
    print(json.dumps(reply), flush=True)


def main() -> None:
    target, count = sys.argv[1], int(sys.argv[2])
    asyncio.run(_hold(target, count, os.environ[TOKEN_VARIABLE]))


if __name__ == "__main__":
    main()
