"""Targets (a ratio and its bound, PASS or FAIL), and the idle-streams
benchmark's result: rows of measurements, their ratios to the run's
reference row, and the targets those ratios must meet."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Row fields, and their headings in the table.
_COLUMNS = {
    "requests_per_second": "req/s",
    "p50_ms": "p50 ms",
    "p99_ms": "p99 ms",
    "server_rss_mb": "server RSS MB",
}


@dataclass(frozen=True)
class Row:
    """One measured configuration."""

    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    server_rss_mb: float
    calls: int  # how many were measured: the sample the percentiles come from

    def cells(self) -> tuple[float, ...]:
        return (self.requests_per_second, self.p50_ms, self.p99_ms, self.server_rss_mb)


@dataclass(frozen=True)
class Target:
    """A bound on one ratio: `ratio` must be at least (or at most) `bound`."""

    name: str
    ratio: float
    bound: float
    at_least: bool

    @property
    def passed(self) -> bool:
        return self.ratio >= self.bound if self.at_least else self.ratio <= self.bound

    def line(self) -> str:
        sign = ">=" if self.at_least else "<="
        verdict = "PASS" if self.passed else "FAIL"
        return f"{self.name}: {self.ratio:.2f} (target {sign} {self.bound:g})  {verdict}"


@dataclass(frozen=True)
class Result:
    """A benchmark's outcome. `rows[0]` is the reference the ratios divide by."""

    benchmark: str
    summary: str  # what was measured, in a line
    setup: dict[str, Any]  # what was measured, and how, for tools
    rows: Sequence[Row]
    targets: Sequence[Target]
    notes: dict[str, Any]  # observations that are not targets

    @property
    def passed(self) -> bool:
        return all(target.passed for target in self.targets)

    def ratios(self) -> dict[str, dict[str, float]]:
        """Each later row's columns divided by the reference row's."""
        reference = self.rows[0].cells()
        return {
            row.name: {
                column: value / base
                for column, value, base in zip(_COLUMNS, row.cells(), reference, strict=True)
            }
            for row in self.rows[1:]
        }


def table(result: Result) -> str:
    """The result as a table, its ratios and verdicts, and its notes."""
    width = max(len(row.name) for row in result.rows)
    lines = [
        f"{result.benchmark}: {result.summary}",
        "",
        " " * width + "".join(f"{heading:>15}" for heading in _COLUMNS.values()),
    ]
    lines += [
        row.name.ljust(width) + "".join(f"{value:>15.1f}" for value in row.cells())
        for row in result.rows
    ]
    for name, ratios in result.ratios().items():
        cells = "".join(f"{ratio:>14.2f}x" for ratio in ratios.values())
        lines += ["", f"ratio: {name} / {result.rows[0].name}", " " * width + cells]
    lines += ["", *(target.line() for target in result.targets)]
    lines += [f"{name}: {value}" for name, value in result.notes.items()]
    return "\n".join(lines)
