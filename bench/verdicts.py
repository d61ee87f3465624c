"""Issue 6's targets, each a ratio (or a bound) of rows of the same run. A
target whose rows the run did not measure (quick mode) is listed as not
measured, and neither passes nor fails."""

from collections.abc import Iterator, Sequence

from bench.report import Target
from bench.runner import Row
from bench.systems import ROSTER, SCIM2_SERVER

MIN_VS_SCIM2 = 1.0
MAX_GROWTH_1M = 1.3
MIN_SW_VS_SCIM2 = 50.0
MAX_PATCH_GROWTH = 1.5
MIN_PATCH_VS_SCIM2 = 300.0
MAX_PAGE_GROWTH = 2.0
MIN_FACADE_SHARE = 0.6
MAX_WATCH_P99_MS = 50.0
MAX_FACADE_RSS_MB = 120.0
MAX_IDENTITY_RSS_MB = 250.0


class _Rows:
    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows = rows
        self._by = {(row.system, row.dataset, row.key): row for row in rows}

    def get(self, system: str, dataset: str, key: str) -> Row | None:
        return self._by.get((system, dataset, key))


def targets(rows: Sequence[Row]) -> tuple[list[Target], list[str]]:
    """The targets the rows allow, and the names of those they do not."""
    found = _Rows(rows)
    measured: list[Target] = []
    missing: list[str] = []
    for name, target in _all(found):
        if target is None:
            missing.append(name)
        else:
            measured.append(target)
    return measured, missing


Candidate = tuple[str, Target | None]


def _all(rows: _Rows) -> Iterator[Candidate]:
    yield from _versus_scim2(rows)
    for key in ("get_user", "username_eq"):
        yield _growth(rows, key, "1k", "1M", MAX_GROWTH_1M)
    yield _faster(rows, "username_sw", "100k", "100k", MIN_SW_VS_SCIM2)
    yield _patch_growth(rows)
    yield _faster(
        rows, "patch_add_member_100k", "1M", "100k", MIN_PATCH_VS_SCIM2, "patch_add_member_10k"
    )
    for method in ("index", "cursor", "index_full"):
        yield _sweep(rows, method)
    yield _facade_share(rows)
    yield _watch(rows)
    yield from _memory(rows)
    yield _errors(rows)


def _errors(rows: _Rows) -> Candidate:
    """A row's numbers count answered calls only: an error anywhere fails."""
    name = "calls answered with an error (all rows; see each row's first_error)"
    return name, Target(name, sum(row.errors for row in rows.rows), 0, at_least=False)


def _versus_scim2(rows: _Rows) -> Iterator[Candidate]:
    """Every scim2-server row at 1,000 users: Roster at least as fast."""
    for theirs in rows.rows:
        if theirs.system == SCIM2_SERVER and theirs.dataset == "1k":
            yield _faster(rows, theirs.key, "1k", "1k", MIN_VS_SCIM2)


def _faster(
    rows: _Rows, key: str, ours_at: str, theirs_at: str, bound: float, their_key: str = ""
) -> Candidate:
    ours = rows.get(ROSTER, ours_at, key)
    theirs = rows.get(SCIM2_SERVER, theirs_at, their_key or key)
    title = ours.title if ours else key
    name = f"{title} ({ours_at}): Roster req/s / scim2-server req/s ({theirs_at})"
    if ours is None or theirs is None:
        return name, None
    ratio = ours.requests_per_second / theirs.requests_per_second
    return name, Target(name, ratio, bound, at_least=True)


def _p50_ratio(name: str, low: Row | None, high: Row | None, bound: float) -> Candidate:
    """`high`'s p50 over `low`'s, at most `bound`; unmeasured without both."""
    if low is None or high is None:
        return name, None
    return name, Target(name, high.p50_ms / low.p50_ms, bound, at_least=False)


def _growth(rows: _Rows, key: str, small: str, large: str, bound: float) -> Candidate:
    low, high = rows.get(ROSTER, small, key), rows.get(ROSTER, large, key)
    name = f"{low.title if low else key}: p50 at {large} / p50 at {small}"
    return _p50_ratio(name, low, high, bound)


def _patch_growth(rows: _Rows) -> Candidate:
    return _p50_ratio(
        "PATCH add 1 member (1M users): p50, group of 100k / group of 10",
        rows.get(ROSTER, "1M", "patch_add_member_10"),
        rows.get(ROSTER, "1M", "patch_add_member_100k"),
        MAX_PATCH_GROWTH,
    )


def _sweep(rows: _Rows, method: str) -> Candidate:
    return _p50_ratio(
        f"{method} pages of 1M users: p50 per page, end / start",
        rows.get(ROSTER, "1M", f"page_{method}_start"),
        rows.get(ROSTER, "1M", f"page_{method}_end"),
        MAX_PAGE_GROWTH,
    )


def _facade_share(rows: _Rows) -> Candidate:
    scim = rows.get(ROSTER, "1k", "get_user")
    direct = rows.get(ROSTER, "1k", "grpc_get_user")
    name = "facade overhead (1k): SCIM GET /Users/{id} req/s / gRPC GetUser req/s"
    if scim is None or direct is None:
        return name, None
    ratio = scim.requests_per_second / direct.requests_per_second
    return name, Target(name, ratio, MIN_FACADE_SHARE, at_least=True)


def _watch(rows: _Rows) -> Candidate:
    name = "WatchChanges p99 ms, SCIM response -> watcher at 200 writes/s (worst dataset)"
    watched = [row for row in rows.rows if row.key == "watch_delivery"]
    if not watched:
        return name, None
    worst = max(row.p99_ms for row in watched)
    return name, Target(name, worst, MAX_WATCH_P99_MS, at_least=False)


def _memory(rows: _Rows) -> Iterator[Candidate]:
    for process, bound in (
        ("facade", MAX_FACADE_RSS_MB),
        ("identity_service", MAX_IDENTITY_RSS_MB),
    ):
        name = f"{process} RSS MB, largest after any row (any dataset)"
        seen = [row.rss_mb[process] for row in rows.rows if process in row.rss_mb]
        yield name, (Target(name, max(seen), bound, at_least=False) if seen else None)
