"""Closed-loop load: a fixed number of calls in flight, each worker sending
its next call as soon as the previous one returns, for a fixed time (or a
fixed number of calls); and the summary of what it measured."""

import asyncio
import dataclasses
import itertools
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

# The call to make; gets the call's number, to spread calls over resources.
Call = Callable[[int], Awaitable[object]]


class Refused(Exception):
    """A call the server answered with an error: counted, not fatal."""


@dataclass(frozen=True)
class Measured:
    """Throughput and latency of one load run's answered calls."""

    calls: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int = 0  # calls refused (not in the other numbers)
    first_error: str = ""


@dataclass
class Window:
    """What one or more closed-loop runs of a row saw: each answered call's
    latency in seconds, each refusal, and the seconds they ran."""

    latencies: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def calls(self) -> int:
        return len(self.latencies)

    def measured(self) -> Measured:
        measured = summary(self.latencies, self.elapsed)
        if not self.refused:
            return measured
        return dataclasses.replace(
            measured, errors=len(self.refused), first_error=self.refused[0][:300]
        )


async def closed_loop(
    call: Call, *, concurrency: int, seconds: float, limit: int | None = None
) -> Measured:
    """Keep `concurrency` calls in flight for `seconds`, numbering calls from
    0, and sending no more than `limit` in all. Every call started in time
    counts; a refused call is counted apart, any other failure fails the
    run (and cancels the rest)."""
    window = Window()
    await run_window(window, call, concurrency=concurrency, seconds=seconds, limit=limit)
    return window.measured()


async def run_window(
    window: Window, call: Call, *, concurrency: int, seconds: float, limit: int | None = None
) -> None:
    """closed_loop, adding what it sees to `window`."""
    numbers = itertools.count() if limit is None else iter(range(limit))
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        while (sent := time.perf_counter()) < deadline:
            number = next(numbers, None)
            if number is None:
                return
            try:
                await call(number)
            except Refused as error:
                window.refused.append(str(error))
                continue
            window.latencies.append(time.perf_counter() - sent)

    try:
        async with asyncio.TaskGroup() as workers:
            for _ in range(concurrency):
                workers.create_task(worker())
    finally:
        window.elapsed += time.perf_counter() - started


def summary(latencies: Sequence[float], elapsed: float) -> Measured:
    """Measured from latencies in seconds, over `elapsed` seconds."""
    if len(latencies) < 2:
        only = latencies[0] * 1000 if latencies else float("nan")
        return Measured(len(latencies), len(latencies) / elapsed, only, only)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Measured(len(latencies), len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000)
