"""The comparison run: for each dataset, Roster and (at the sizes it is
compared at) scim2-server started side by side over it, and the same rows
sent to both by the same client in this process, in turns (_Pair).

Reads come first, so the writes of a session never change what its reads
see; PATCHes of members leave every group its size; POST, PUT and PATCH
active come last, then (Roster) the watch rows."""

import json
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import dataset, direct, paging, scenarios, seed, systems, watch_latency
from bench.dataset import Dataset
from bench.http import client
from bench.runner import Row, Session, Settings
from bench.systems import System

# Reading a 100,000-member group whole takes seconds: a few calls say enough.
_HUGE_GROUP = 100_000
_HUGE_GROUP_CALLS = 24
# emails co scans every user: measured up to this size.
_SCAN_LIMIT = 100_000


@dataclass(frozen=True)
class Mode:
    """What a run measures, and how long each row runs."""

    name: str
    roster_datasets: tuple[int, ...]
    scim2_datasets: tuple[int, ...]
    settings: Settings
    sweep_pages: int
    full_sweep: bool
    watch_rate: float
    watch_seconds: float
    idle_streams: bool


QUICK = Mode("quick", (1000,), (1000,), Settings(16, 0.3, 2.0), 3, False, 200.0, 3.0, False)
FULL = Mode(
    "full",
    (1000, 100_000, 1_000_000),
    (1000, 100_000),
    Settings(16, 1.0, 5.0),
    100,
    False,
    200.0,
    10.0,
    True,
)


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


async def run(mode: Mode, postgres_url: str | None, reuse: bool) -> Outcome:
    if not set(mode.scim2_datasets) <= set(mode.roster_datasets):
        raise ValueError("scim2-server runs beside Roster: its datasets must be Roster's too")
    outcome = Outcome()
    largest = max(mode.roster_datasets)
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as workdir:
        for users in sorted(mode.roster_datasets):
            data = Dataset(users)
            seeded = seed.prepared(data, Path(workdir), postgres_url, reuse)
            outcome.notes[f"seed {data.name}"] = (
                "reused" if seeded.reused else f"{seeded.seed_seconds:.1f} s"
            )
            print(f"Roster over {data.name} users ({outcome.notes[f'seed {data.name}']})")
            async with AsyncExitStack() as stack:
                roster = await stack.enter_async_context(systems.roster(seeded))
                peer = None
                if users in mode.scim2_datasets:
                    print(f"scim2-server over {data.name} users, beside it")
                    peer = await stack.enter_async_context(systems.scim2_server(data))
                    announced = peer.processes[0].announced
                    outcome.notes[f"scim2-server load {data.name}"] = (
                        f"{announced['seed_seconds']:.1f} s"
                    )
                await _sessions(roster, peer, mode, outcome, sweep=users == largest)
            Path(seeded.url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    return outcome


@dataclass(frozen=True)
class _Pair:
    """Roster's session and, where scim2-server runs over the same dataset,
    its session: a row both serve is measured on both, in turns."""

    roster: Session
    peer: Session | None

    async def scim(self, scenario: scenarios.Scenario) -> None:
        """The row on both systems, each measured in two half windows in the
        order Roster, scim2-server, scim2-server, Roster: a change in the
        machine's speed during the row (other work on the shared cores)
        weighs on both alike, where rows minutes apart differed by 10 to 30%."""
        if self.peer is None:
            await self.roster.scim(scenario)
            return
        rows = (
            (self.roster, await self.roster.warm(scenario)),
            (self.peer, await self.peer.warm(scenario)),
        )
        half = self.roster.settings.seconds / 2
        for session, pending in (*rows, *rows[::-1]):
            if pending is not None:
                await self.roster.settle()
                await self.peer.settle()
                await session.window(pending, half)
        for session, pending in rows:
            if pending is not None:
                session.finish(pending)


async def _sessions(
    roster: System, peer: System | None, mode: Mode, outcome: Outcome, *, sweep: bool
) -> None:
    async with AsyncExitStack() as stack:
        sessions = []
        for system in (roster, peer):
            if system is not None:
                http = await stack.enter_async_context(client(system.base_url, system.headers))
                session = Session(system, http, mode.settings)
                await session.open_connections()
                await _same_data(session)
                sessions.append(session)
        ours = sessions[0]
        pair = _Pair(ours, sessions[1] if peer is not None else None)
        start_cursor = await watch_latency.cursor_now(ours)
        await _reads(pair)
        if roster.dataset.users in (min(mode.roster_datasets), 1_000_000):
            await direct.run(ours)
        if sweep:
            await paging.run(ours, _pages(mode, roster.dataset), full=mode.full_sweep)
        for size in roster.dataset.group_sizes:
            for scenario in scenarios.member_patches(size):
                await pair.scim(scenario)
        for scenario in scenarios.USER_WRITES:
            await pair.scim(scenario)
        await watch_latency.delivery(ours, mode.watch_rate, mode.watch_seconds)
        caught = await watch_latency.catch_up(ours, start_cursor)
        outcome.notes[f"catch-up {roster.dataset.name}"] = {
            "records": caught.records,
            "seconds": round(caught.seconds, 2),
            "records_per_second": round(caught.per_second),
        }
        for session in sessions:
            outcome.rows += session.rows


async def _same_data(session: Session) -> None:
    """Both systems serve the dataset's users as defined (what a SCIM POST
    of the same user would have stored), or the comparison is void."""
    user = json.loads((await session.http.request("GET", f"/Users/{dataset.user_id(0)}")).body)
    defined = dataset.scim_user(0)
    served = {key: user.get(key) for key in defined if key != "schemas"}
    expected = {key: value for key, value in defined.items() if key != "schemas"}
    if served != expected:
        raise RuntimeError(f"{session.system.name} serves user 0 as {served}, not {expected}")


async def _reads(pair: _Pair) -> None:
    data = pair.roster.system.dataset
    for scenario in scenarios.USER_READS:
        if scenario.key != "emails_co" or data.users <= _SCAN_LIMIT:
            await pair.scim(scenario)
    for size in data.group_sizes:
        with_members, without = scenarios.group_reads(size)
        await pair.scim(without)
        if size < _HUGE_GROUP:
            await pair.scim(with_members)
        else:
            limited = scenarios.Scenario(
                with_members.key,
                with_members.title,
                with_members.make,
                lambda _, __: _HUGE_GROUP_CALLS,
            )
            await pair.scim(limited)


def _pages(mode: Mode, data: Dataset) -> int:
    """Pages sampled at each end of the sweep: no more than a third of all."""
    return max(1, min(mode.sweep_pages, data.users // paging.PAGE // 3))
