"""One system over one dataset, measured row by row: each row warms up
(one call in flight, briefly, so caches and connections are ready), then
keeps the run's concurrency in flight for the measuring window, and records
throughput, latency, the processes' memory and their CPU use."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.http import Client
from bench.load import Call, Measured, Window, closed_loop, run_window
from bench.processes import LOAD_GENERATOR, CpuMeter
from bench.scenarios import Scenario
from bench.systems import System, serving

_SETTLE_SECONDS = 60.0
_IDLE_WINDOW = 0.3
_IDLE_CORES = 0.15


@dataclass(frozen=True)
class Settings:
    """How long and how hard each row runs."""

    concurrency: int
    warmup_seconds: float
    seconds: float


@dataclass(frozen=True)
class Row:
    """One measured row: a request (or RPC) on a system over a dataset."""

    system: str
    dataset: str
    key: str
    title: str
    concurrency: int
    calls: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    rss_mb: dict[str, float]  # each process, after the row
    cpu_cores: dict[str, float]  # each process's CPU use while measured (1.0: one core)
    errors: int = 0  # calls answered with an error, not in the numbers above
    first_error: str = ""


@dataclass
class Pending:
    """A row warmed up and measured in one or more windows so far."""

    key: str
    title: str
    call: Call
    concurrency: int
    limit: int | None  # the most calls it may send, the warm-up's included
    numbered: int  # calls sent so far: the next window numbers on from here
    seen: Window = field(default_factory=Window)
    core_seconds: dict[str, float] = field(default_factory=dict)  # CPU of each process


@dataclass
class Session:
    """Rows of one system over one dataset; `sent` counts each row's calls."""

    system: System
    http: Client
    settings: Settings
    rows: list[Row] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)

    async def open_connections(self) -> None:
        """Open the client's connections before the first row measures."""

        async def discovery(_: int) -> object:
            return await self.http.request("GET", "/ServiceProviderConfig")

        await closed_loop(discovery, concurrency=self.settings.concurrency, seconds=0.5)

    async def scim(self, scenario: Scenario, *, concurrency: int | None = None) -> Row | None:
        """Measure a SCIM scenario; None when its limit leaves no call to send."""
        pending = await self.warm(scenario, concurrency=concurrency)
        if pending is None:
            return None
        await self.window(pending, self.settings.seconds)
        return self.finish(pending)

    async def warm(self, scenario: Scenario, *, concurrency: int | None = None) -> Pending | None:
        """A SCIM scenario warmed up, to measure in windows; None when its
        limit leaves no call to send."""
        limit = None if scenario.limit is None else scenario.limit(self.system.dataset, self.sent)
        if limit == 0:
            return None

        async def call(number: int) -> object:
            request = scenario.make(self.system.dataset, number)
            return await self.http.request(
                request.method, request.path, request.body, request.expect
            )

        return await self._warmed(
            scenario.key, scenario.title, call, limit, concurrency or self.settings.concurrency
        )

    async def measure(
        self,
        key: str,
        title: str,
        call: Call,
        *,
        limit: int | None = None,
        concurrency: int | None = None,
        warmup_calls: int | None = None,
    ) -> Row:
        """Wait for the servers to be idle, warm up, then measure `call`
        (numbered on from the warm-up's calls)."""
        in_flight = concurrency or self.settings.concurrency
        pending = await self._warmed(key, title, call, limit, in_flight, warmup_calls)
        await self.window(pending, self.settings.seconds)
        return self.finish(pending)

    async def _warmed(
        self,
        key: str,
        title: str,
        call: Call,
        limit: int | None,
        concurrency: int,
        warmup_calls: int | None = None,
    ) -> Pending:
        await self.settle()
        seconds = self.settings.warmup_seconds if warmup_calls is None else float("inf")
        warmup = Window()
        await run_window(
            warmup, call, concurrency=1, seconds=seconds, limit=_at_most(warmup_calls, limit)
        )
        return Pending(key, title, call, concurrency, limit, warmup.calls + len(warmup.refused))

    async def window(self, pending: Pending, seconds: float) -> None:
        """Measure `pending` for `seconds` more, its calls numbered on."""
        left = None if pending.limit is None else pending.limit - pending.numbered
        if left == 0:
            return
        meter = self.meter()
        window = Window()
        await run_window(
            window,
            _from(pending.call, pending.numbered),
            concurrency=pending.concurrency,
            seconds=seconds,
            limit=left,
        )
        cores = meter.stop()
        pending.numbered += window.calls + len(window.refused)
        pending.seen.latencies += window.latencies
        pending.seen.refused += window.refused
        pending.seen.elapsed += window.elapsed
        for name, used in cores.items():
            pending.core_seconds[name] = pending.core_seconds.get(name, 0.0) + used * window.elapsed

    def finish(self, pending: Pending) -> Row:
        """The row of `pending`'s windows, kept."""
        self.sent[pending.key] = pending.numbered
        elapsed = pending.seen.elapsed or float("nan")
        cpu = {name: used / elapsed for name, used in pending.core_seconds.items()}
        return self.record(
            pending.key, pending.title, pending.concurrency, pending.seen.measured(), cpu
        )

    async def settle(self) -> None:
        """Until the servers are idle and ready: work a row left behind (a
        query its client gave up on still runs, and may have made readiness
        NOT_SERVING for a while) must not slow or fail the next row."""
        deadline = time.monotonic() + _SETTLE_SECONDS
        target = self.system.grpc_target
        while time.monotonic() < deadline:
            meter = self.meter()
            await asyncio.sleep(_IDLE_WINDOW)
            used = meter.stop()
            used.pop(LOAD_GENERATOR, None)
            if sum(used.values()) < _IDLE_CORES and (not target or await serving(target)):
                return
        print(f"  (the servers were still busy after {_SETTLE_SECONDS:g} s)")

    def meter(self) -> CpuMeter:
        """A started meter of the system's processes' CPU."""
        meter = CpuMeter(self.system.processes)
        meter.start()
        return meter

    def record(
        self, key: str, title: str, concurrency: int, measured: Measured, cpu: dict[str, float]
    ) -> Row:
        """Keep (and print) a row measured by `measure` or by a caller."""
        row = Row(
            self.system.name,
            self.system.dataset.name,
            key,
            title,
            concurrency,
            measured.calls,
            measured.requests_per_second,
            measured.p50_ms,
            measured.p99_ms,
            self.system.rss_mb(),
            cpu,
            measured.errors,
            measured.first_error,
        )
        self.rows.append(row)
        print(_progress(row), flush=True)
        return row


def _at_most(first: int | None, second: int | None) -> int | None:
    known = [n for n in (first, second) if n is not None]
    return min(known) if known else None


def _from(call: Call, offset: int) -> Callable[[int], Awaitable[object]]:
    return lambda number: call(number + offset)


def _progress(row: Row) -> str:
    errors = f", {row.errors} ERRORS: {row.first_error[:120]}" if row.errors else ""
    return (
        f"  {row.system:<12} {row.dataset:>4}  {row.title[:48]:<48}"
        f" {row.requests_per_second:9.1f}/s  p50 {row.p50_ms:8.1f} ms"
        f"  p99 {row.p99_ms:8.1f} ms  ({row.calls} calls{errors})"
    )
