"""How soon a watcher hears of a SCIM write, and how fast a watcher that
fell behind catches up.

Delivery: a WatchChanges stream of the tenant is open in this process
while SCIM POSTs arrive at a fixed rate (open loop: every write is sent on
time, however long earlier ones take). For each created user, the latency
is the time from the moment its SCIM response was received to the moment
the stream delivered its USER_CREATED record, on one clock; a record that
arrives before the response counts as 0 ms.

Catch-up: a stream opened at a cursor taken before the session's writes
sends that backlog first, then a checkpoint; records per second until the
checkpoint is the rate."""

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import grpc
from identity.v1 import (
    change_pb2,
    change_service_pb2,
    change_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from bench import dataset
from bench.direct import channel
from bench.load import Measured, Refused, summary
from bench.runner import Row, Session

_POSTED = 20_000_000  # users created here are numbered from this on
_DRAIN_SECONDS = 5.0


@dataclass(frozen=True)
class CatchUp:
    records: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


async def cursor_now(session: Session) -> str:
    """The tenant's change-log position now (a List response's change_cursor)."""
    system = session.system
    async with channel(system.grpc_target) as opened:
        stub = user_service_pb2_grpc.UserServiceStub(opened)
        request = user_service_pb2.ListUsersRequest(parent="tenants/-", page_size=1)
        auth = (("authorization", f"Bearer {system.secret}"),)
        response = await stub.ListUsers(request, metadata=auth)
    cursor: str = response.change_cursor
    return cursor


async def delivery(session: Session, rate: float, seconds: float) -> Row:
    """POST `rate` users a second for `seconds` while a stream watches."""
    system = session.system
    heard: dict[str, float] = {}
    answered: dict[str, float] = {}
    refused: list[str] = []
    async with channel(system.grpc_target) as opened:
        stub = change_service_pb2_grpc.ChangeServiceStub(opened)
        request = change_service_pb2.WatchChangesRequest(
            parent="tenants/-", kinds=[change_pb2.Change.USER_CREATED]
        )
        stream = stub.WatchChanges(
            request, metadata=(("authorization", f"Bearer {system.watch_secret}"),)
        )
        opened_event = asyncio.Event()
        listener = asyncio.create_task(_listen(stream, heard, opened_event))
        await asyncio.wait_for(opened_event.wait(), 30)
        meter = session.meter()
        writes = round(rate * seconds)
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for n in range(writes):
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
                group.create_task(_post(session, n, answered, refused))
        elapsed = time.perf_counter() - started
        deadline = time.monotonic() + _DRAIN_SECONDS
        while not answered.keys() <= heard.keys() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        cpu = meter.stop()
        stream.cancel()
        listener.cancel()
    missing = len(answered.keys() - heard.keys())
    if missing:
        raise RuntimeError(f"{missing} created users never reached the watcher")
    latencies = [max(0.0, heard[user] - at) for user, at in answered.items()]
    measured = summary(latencies, elapsed)
    achieved = Measured(
        measured.calls,
        len(answered) / elapsed,
        measured.p50_ms,
        measured.p99_ms,
        len(refused),
        refused[0] if refused else "",
    )
    title = f"WatchChanges delivery at {rate:g} POST/s (SCIM response -> watcher)"
    return session.record("watch_delivery", title, 0, achieved, cpu)


async def _listen(
    stream: "grpc.aio.UnaryStreamCall[Any, change_service_pb2.WatchChangesResponse]",
    heard: dict[str, float],
    opened: asyncio.Event,
) -> None:
    async for response in stream:
        if response.HasField("checkpoint"):
            opened.set()
        elif response.HasField("change"):
            heard[response.change.resource.rsplit("/", 1)[1]] = time.perf_counter()


async def _post(session: Session, n: int, answered: dict[str, float], refused: list[str]) -> None:
    body = json.dumps(dataset.scim_user(_POSTED + n)).encode()
    try:
        response = await session.http.request("POST", "/Users", body, 201)
    except Refused as error:
        refused.append(str(error)[:300])
        return
    answered[json.loads(response.body)["id"]] = time.perf_counter()


async def catch_up(session: Session, cursor: str) -> CatchUp:
    """Replay the log after `cursor` up to where it ends now."""
    system = session.system
    end = await cursor_now(session)
    async with channel(system.grpc_target) as opened:
        stub = change_service_pb2_grpc.ChangeServiceStub(opened)
        request = change_service_pb2.WatchChangesRequest(parent="tenants/-", start_cursor=cursor)
        metadata = (("authorization", f"Bearer {system.watch_secret}"),)
        records = 0
        started = time.perf_counter()
        stream = stub.WatchChanges(request, metadata=metadata)
        async for response in stream:
            if response.HasField("change"):
                records += 1
                if response.change.cursor == end:
                    break
            elif response.checkpoint.cursor == end:
                break
        seconds = time.perf_counter() - started
        stream.cancel()
    return CatchUp(records, seconds)
