"""`make bench`: run the benchmarks, print their tables, write
bench/results.json, and exit 1 when a target is missed."""

import asyncio
import sys
import tempfile
from pathlib import Path

from bench import idle_streams, report, server

RESULTS = Path(__file__).with_name("results.json")


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="roster-bench-") as workdir,
        server.running(Path(workdir)) as running,
    ):
        result = asyncio.run(idle_streams.run(running))
    print(report.table(result))
    report.write(RESULTS, [result])
    print(f"\nwrote {RESULTS.relative_to(Path(__file__).parents[1])}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
