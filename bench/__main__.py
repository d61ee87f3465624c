"""`make bench`: Roster against scim2-server over the same datasets, plus
the idle-streams benchmark; prints one table, writes bench/results.json and
bench/latency.png, and exits 1 when a target is missed.

Environment: BENCH=quick (1,000 users only, short windows, no idle
streams) or full (the default); BENCH_REUSE=1 reuses the seeded databases
of an earlier run; BENCH_SWEEP=full walks all 10,000 pages of 1,000,000
users instead of sampling the sweep's ends; BENCH_DATABASE_URL
(postgresql://user@host:port/db) runs Roster on PostgreSQL, in databases
named after that one (see bench/seed.py)."""

import asyncio
import dataclasses
import importlib.util
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import ceiling, chart, idle_streams, seed, suite, systems, table, verdicts
from bench.dataset import Dataset
from bench.report import Result, Target
from bench.report import table as idle_table

HERE = Path(__file__).parent
# Quick runs write beside the seeded databases, leaving the full run's files alone.
QUICK = HERE / ".data"
_BUSY = 0.5  # a 1-minute load average above this: something else is running
_PACKAGES = ("grpcio", "uvicorn", "fastapi", "sqlalchemy", "scim2-server", "scim2-models")


def main() -> int:
    mode = suite.FULL if os.environ.get("BENCH", "full") != "quick" else suite.QUICK
    if os.environ.get("BENCH_SWEEP") == "full":
        mode = dataclasses.replace(mode, full_sweep=True)
    postgres_url = os.environ.get("BENCH_DATABASE_URL") or None
    reuse = os.environ.get("BENCH_REUSE", "") not in ("", "0")
    started = time.perf_counter()
    load = os.getloadavg()
    if load[0] > _BUSY:
        print(f"warning: load average {load[0]:.1f} before the run: others are using the cores")
    settings = mode.settings
    client_ceiling = asyncio.run(ceiling.measure(settings.concurrency, settings.seconds))
    print(f"load generator ceiling: {client_ceiling.requests_per_second:,.0f} req/s")
    outcome = asyncio.run(suite.run(mode, postgres_url, reuse))
    idle = _idle_streams(postgres_url, reuse) if mode.idle_streams else None
    targets, missing = verdicts.targets(outcome.rows)
    all_targets = targets + list(idle.targets if idle else [])
    passed = all(target.passed for target in all_targets)
    setup = _setup(mode, postgres_url, client_ceiling.requests_per_second)
    setup["load_average_before"] = [round(value, 2) for value in load]
    setup["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    print()
    print(table.rows_table(outcome.rows))
    print()
    print(table.memory_table(outcome.rows))
    print()
    print(table.targets_text(targets, missing))
    if idle:
        print()
        print(idle_table(idle))
    minutes = (time.perf_counter() - started) / 60
    print(f"\n{'PASS' if passed else 'FAIL'}: mode {mode.name}, {minutes:.1f} min")
    folder = QUICK if mode.name == suite.QUICK.name else HERE
    folder.mkdir(exist_ok=True)
    results, drawing = folder / "results.json", folder / "latency.png"
    _write(results, mode.name, setup, outcome, targets, missing, idle, passed, minutes)
    chart.draw(outcome.rows, drawing, f"{setup['cores']} shared cores, {mode.name} mode")
    print(f"wrote {results.relative_to(HERE.parent)} and {drawing.relative_to(HERE.parent)}")
    return 0 if passed else 1


def _idle_streams(postgres_url: str | None, reuse: bool) -> Result:
    print("idle streams: GetUser alone, then beside 1,000 idle WatchChanges streams")
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as workdir:
        seeded = seed.prepared(Dataset(1_000), Path(workdir), postgres_url, reuse)
        return asyncio.run(_on_roster(seeded))


async def _on_roster(seeded: seed.Seeded) -> Result:
    async with systems.roster(seeded) as system:
        return await idle_streams.run(system)


def _setup(mode: suite.Mode, postgres_url: str | None, ceiling_rps: float) -> dict[str, Any]:
    return {
        "mode": mode.name,
        "cores": os.cpu_count(),
        "cores_note": (
            "every process (load generator, identity_service, facade, scim2-server) "
            "shares the same cores; both systems run side by side, one is driven at a time"
        ),
        "pairing": (
            "a row both systems serve is measured in two half windows each, in the order "
            "Roster, scim2-server, scim2-server, Roster"
        ),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "database": "postgresql" if postgres_url else "sqlite",
        "packages": {name: metadata.version(name) for name in _PACKAGES},
        "load_generator": (
            "bench.http: asyncio HTTP/1.1 keep-alive client in the benchmark's process, "
            "closed loop, one connection per request in flight"
        ),
        "load_generator_ceiling_rps": round(ceiling_rps),
        "scim2_server_serving": f"its ASGI app under uvicorn ({_uvicorn()}), one process",
        "roster_serving": (
            "identity_service (grpc.aio on uvloop) and scim_facade (uvicorn), one process each"
        ),
        **dataclasses.asdict(mode.settings),
        "sweep_pages_sampled": mode.sweep_pages,
        "full_sweep": mode.full_sweep,
    }


def _uvicorn() -> str:
    """The loop and parser uvicorn picks by default (the faster when installed)."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop}, {parser}"


def _write(
    path: Path,
    mode: str,
    setup: dict[str, Any],
    outcome: suite.Outcome,
    targets: list[Target],
    missing: list[str],
    idle: Result | None,
    passed: bool,
    minutes: float,
) -> None:
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "minutes": round(minutes, 1),
        "passed": passed,
        "setup": setup,
        "rows": [dataclasses.asdict(row) for row in outcome.rows],
        "targets": [{**dataclasses.asdict(t), "passed": t.passed} for t in targets],
        "not_measured": missing,
        "notes": outcome.notes,
        "idle_streams": _idle_json(idle) if idle else None,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def _idle_json(result: Result) -> dict[str, Any]:
    return {
        "summary": result.summary,
        "setup": result.setup,
        "rows": [dataclasses.asdict(row) for row in result.rows],
        "ratios": result.ratios(),
        "targets": [{**dataclasses.asdict(t), "passed": t.passed} for t in result.targets],
        "notes": result.notes,
    }


if __name__ == "__main__":
    sys.exit(main())
