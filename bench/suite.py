"""The comparison run: for each dataset, Roster then scim2-server started
over it, and the same rows sent to both by the same client in this process.

Reads come first, so the writes of a session never change what its reads
see; PATCHes of members leave every group its size; POST, PUT and PATCH
active come last, then (Roster) the watch rows."""

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import dataset, direct, paging, scenarios, seed, systems, watch_latency
from bench.dataset import Dataset
from bench.http import client
from bench.runner import Row, Session, Settings
from bench.systems import ROSTER, System

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
    outcome = Outcome()
    largest = max(mode.roster_datasets)
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as workdir:
        for users in sorted(set(mode.roster_datasets) | set(mode.scim2_datasets)):
            data = Dataset(users)
            if users in mode.roster_datasets:
                seeded = seed.prepared(data, Path(workdir), postgres_url, reuse)
                outcome.notes[f"seed {data.name}"] = (
                    "reused" if seeded.reused else f"{seeded.seed_seconds:.1f} s"
                )
                print(f"Roster over {data.name} users ({outcome.notes[f'seed {data.name}']})")
                async with systems.roster(seeded) as system:
                    await _session(system, mode, outcome, sweep=users == largest)
                Path(seeded.url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            if users in mode.scim2_datasets:
                print(f"scim2-server over {data.name} users")
                async with systems.scim2_server(data) as system:
                    announced = system.processes[0].announced
                    outcome.notes[f"scim2-server load {data.name}"] = (
                        f"{announced['seed_seconds']:.1f} s"
                    )
                    await _session(system, mode, outcome, sweep=False)
    return outcome


async def _session(system: System, mode: Mode, outcome: Outcome, *, sweep: bool) -> None:
    roster = system.name == ROSTER
    async with client(system.base_url, system.headers) as http:
        session = Session(system, http, mode.settings)
        await session.open_connections()
        await _same_data(session)
        start_cursor = await watch_latency.cursor_now(session) if roster else ""
        await _reads(session)
        if roster and system.dataset.users in (min(mode.roster_datasets), 1_000_000):
            await direct.run(session)
        if roster and sweep:
            await paging.run(session, _pages(mode, system.dataset), full=mode.full_sweep)
        for size in system.dataset.group_sizes:
            for scenario in scenarios.member_patches(size):
                await session.scim(scenario)
        for scenario in scenarios.USER_WRITES:
            await session.scim(scenario)
        if roster:
            await watch_latency.delivery(session, mode.watch_rate, mode.watch_seconds)
            caught = await watch_latency.catch_up(session, start_cursor)
            outcome.notes[f"catch-up {system.dataset.name}"] = {
                "records": caught.records,
                "seconds": round(caught.seconds, 2),
                "records_per_second": round(caught.per_second),
            }
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


async def _reads(session: Session) -> None:
    data = session.system.dataset
    for scenario in scenarios.USER_READS:
        if scenario.key != "emails_co" or data.users <= _SCAN_LIMIT:
            await session.scim(scenario)
    for size in data.group_sizes:
        with_members, without = scenarios.group_reads(size)
        await session.scim(without)
        if size < _HUGE_GROUP:
            await session.scim(with_members)
        else:
            limited = scenarios.Scenario(
                with_members.key,
                with_members.title,
                with_members.make,
                lambda _, __: _HUGE_GROUP_CALLS,
            )
            await session.scim(limited)


def _pages(mode: Mode, data: Dataset) -> int:
    """Pages sampled at each end of the sweep: no more than a third of all."""
    return max(1, min(mode.sweep_pages, data.users // paging.PAGE // 3))
