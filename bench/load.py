"""Closed-loop load: a fixed number of calls in flight, each worker sending
its next call as soon as the previous one returns, for a fixed time; and the
summary of what it measured."""

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# The call to make; gets the call's number, to spread calls over resources.
Call = Callable[[int], Awaitable[object]]


@dataclass(frozen=True)
class Measured:
    """Throughput and latency of one load run."""

    calls: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float


async def closed_loop(call: Call, *, concurrency: int, seconds: float) -> Measured:
    """Keep `concurrency` calls in flight for `seconds`. Every call started
    in time counts; a failed call fails the run (and cancels the rest)."""
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(first: int) -> None:
        number = first
        while (sent := time.perf_counter()) < deadline:
            await call(number)
            latencies.append(time.perf_counter() - sent)
            number += concurrency

    async with asyncio.TaskGroup() as workers:
        for first in range(concurrency):
            workers.create_task(worker(first))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Measured(len(latencies), len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000)
