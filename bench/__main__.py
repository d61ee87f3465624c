"""`make bench`: run the benchmarks, print their tables, write
bench/results.json, and exit 1 when a target is missed. BENCH_DATABASE_URL
names an empty database to run on instead of a SQLite file (e.g. a
PostgreSQL database: postgresql://user@host:port/db)."""

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from bench import idle_streams, report, server

RESULTS = Path(__file__).with_name("results.json")


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="roster-bench-") as workdir,
        server.running(Path(workdir), os.environ.get("BENCH_DATABASE_URL")) as running,
    ):
        result = asyncio.run(idle_streams.run(running))
    print(report.table(result))
    report.write(RESULTS, [result])
    print(f"\nwrote {RESULTS.relative_to(Path(__file__).parents[1])}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
