"""The comparison run as one table (Markdown, so the README shows it as
printed): a line per request and dataset, Roster and scim2-server side by
side, then each system's memory, then the targets."""

from collections.abc import Sequence

from bench.report import Target
from bench.runner import Row
from bench.systems import ROSTER, SCIM2_SERVER

_HEAD = (
    "| request | users | Roster req/s | p50 ms | p99 ms "
    "| scim2-server req/s | p50 ms | p99 ms | Roster / scim2 req/s |"
)
_RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
_DATASETS = {"1k": 0, "100k": 1, "1M": 2}


def _cells(row: Row | None) -> str:
    if row is None:
        return " | | |"
    errors = f" ({row.errors:,} errors)" if row.errors else ""
    return f" {row.requests_per_second:,.1f}{errors} | {row.p50_ms:,.1f} | {row.p99_ms:,.1f} |"


def rows_table(rows: Sequence[Row]) -> str:
    """The measured rows; a request's rows in dataset order."""
    by: dict[tuple[str, str], dict[str, Row]] = {}
    for row in rows:
        by.setdefault((row.key, row.dataset), {})[row.system] = row
    compared = {row.key for row in rows if row.system == SCIM2_SERVER}
    first: dict[str, int] = {}
    for index, row in enumerate(rows):
        first.setdefault(row.key, index)

    def place(key: tuple[str, str]) -> tuple[bool, int, int]:
        """Requests both systems answered first, each in the order measured."""
        return key[0] not in compared, first[key[0]], _DATASETS.get(key[1], 9)

    keys = sorted(by, key=place)
    lines = [_HEAD, _RULE]
    for key, dataset in keys:
        pair = by[(key, dataset)]
        ours, theirs = pair.get(ROSTER), pair.get(SCIM2_SERVER)
        title = (ours or theirs or rows[0]).title
        ratio = (
            f" {ours.requests_per_second / theirs.requests_per_second:,.1f}x |"
            if ours and theirs
            else " |"
        )
        lines.append(f"| {title} | {dataset} |" + _cells(ours) + _cells(theirs) + ratio)
    return "\n".join(lines)


def memory_table(rows: Sequence[Row]) -> str:
    """The largest RSS of each process over each dataset's rows."""
    largest: dict[tuple[str, str], float] = {}
    for row in rows:
        for process, mb in row.rss_mb.items():
            key = (process, row.dataset)
            largest[key] = max(largest.get(key, 0.0), mb)
    datasets = sorted({row.dataset for row in rows}, key=lambda d: _DATASETS.get(d, 9))
    processes = sorted({process for process, _ in largest})
    lines = [
        "| RSS MB (largest after any row) | " + " | ".join(datasets) + " |",
        "|---|" + "---:|" * len(datasets),
    ]
    for process in processes:
        cells = [
            f"{largest[(process, d)]:,.0f}" if (process, d) in largest else "" for d in datasets
        ]
        lines.append(f"| {process} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets_text(targets: Sequence[Target], missing: Sequence[str]) -> str:
    lines = [target.line() for target in targets]
    lines += [f"{name}: not measured in this mode" for name in missing]
    return "\n".join(lines)
