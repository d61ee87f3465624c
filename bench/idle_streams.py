"""Idle change streams must not slow unary calls: 1,000 concurrent idle
WatchChanges streams on one process are normal.

GetUser runs in a closed loop against the same server in the same run:
alone (the baseline) for half a window, then for a whole window while
another process holds 1,000 idle streams of the same tenant, then alone
again for half a window. The baseline's two halves around the loaded
window cancel a drift of the machine's speed over the minute the row takes,
as the paired rows of the suite do (bench/suite.py). The loaded window is
longer than the server's checkpoint interval (default 15 s), so every
stream sends at least one periodic checkpoint while it is measured; the run
checks that it did."""

import grpc
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from bench.load import Call, Window, closed_loop, run_window
from bench.report import Result, Row, Target
from bench.seed import TENANT
from bench.systems import System
from bench.watchers import STREAMS_PER_CONNECTION, Watchers
from identity_service.settings import Settings

STREAMS = 1000
USERS = 100
CONCURRENCY = 16
WARMUP_SECONDS = 3.0
MEASURE_SECONDS = 20.0
CHECKPOINT_SECONDS: float = Settings.model_fields["watch_checkpoint_seconds"].default
# Bounds on the ratios "with streams" / baseline.
MIN_THROUGHPUT = 0.8
MAX_P99 = 1.5


async def run(system: System) -> Result:
    """Measure the baseline around the same load with the streams open."""
    baseline, loaded = Window(), Window()
    async with grpc.aio.insecure_channel(system.grpc_target) as channel:
        get_user = await _seeded(channel, system.secret)
        await _phase(baseline, MEASURE_SECONDS / 2, get_user)
        baseline_rss = system.rss_mb()["identity_service"]
        async with Watchers.holding(system, STREAMS) as watchers:
            await _phase(loaded, MEASURE_SECONDS, get_user, watchers)
            checkpoints = await watchers.report()
            loaded_rss = system.rss_mb()["identity_service"]
        await _phase(baseline, MEASURE_SECONDS / 2, get_user)
    if checkpoints.fewest < 1:
        raise RuntimeError("a stream sent no checkpoint while measured: lengthen the window")
    before = _row("baseline", baseline, baseline_rss)
    during = _row(f"with {STREAMS:,} idle streams", loaded, loaded_rss)
    return Result(
        benchmark="idle_streams",
        summary=(
            f"GetUser, {CONCURRENCY} in flight: {MEASURE_SECONDS:g} s with the streams "
            f"between two {MEASURE_SECONDS / 2:g} s halves of the baseline, each after "
            f"{WARMUP_SECONDS:g} s of warm-up; streams checkpoint every {CHECKPOINT_SECONDS:g} s"
        ),
        setup=_setup(),
        rows=[before, during],
        targets=[
            Target(
                "throughput, with streams / baseline",
                during.requests_per_second / before.requests_per_second,
                MIN_THROUGHPUT,
                at_least=True,
            ),
            Target(
                "p99, with streams / baseline",
                during.p99_ms / before.p99_ms,
                MAX_P99,
                at_least=False,
            ),
        ],
        notes={
            "streams opened in seconds": round(watchers.opened_seconds, 2),
            "checkpoints per stream while measured (fewest)": checkpoints.fewest,
            "checkpoints while measured (all streams)": checkpoints.total,
        },
    )


async def _seeded(channel: grpc.aio.Channel, secret: str) -> Call:
    """Create the users; return the call that gets them in turn."""
    users = user_service_pb2_grpc.UserServiceStub(channel)
    auth = (("authorization", f"Bearer {secret}"),)
    names = []
    for number in range(USERS):
        request = user_service_pb2.CreateUserRequest(
            parent=f"tenants/{TENANT}", user=user_pb2.User(user_name=f"user{number}")
        )
        names.append((await users.CreateUser(request, metadata=auth)).name)

    async def get_user(number: int) -> object:
        request = user_service_pb2.GetUserRequest(name=names[number % USERS])
        return await users.GetUser(request, metadata=auth)

    return get_user


async def _phase(
    window: Window, seconds: float, call: Call, watchers: Watchers | None = None
) -> None:
    """Warm up, then measure into `window`; with watchers, count their
    checkpoints from the start of the measuring on."""
    await closed_loop(call, concurrency=CONCURRENCY, seconds=WARMUP_SECONDS)
    if watchers is not None:
        await watchers.mark()
    await run_window(window, call, concurrency=CONCURRENCY, seconds=seconds)


def _row(name: str, window: Window, rss_mb: float) -> Row:
    measured = window.measured()
    return Row(
        name, measured.requests_per_second, measured.p50_ms, measured.p99_ms, rss_mb, measured.calls
    )


def _setup() -> dict[str, object]:
    return {
        "call": "identity.v1.UserService/GetUser",
        "users": USERS,
        "concurrency": CONCURRENCY,
        "warmup_seconds": WARMUP_SECONDS,
        "measure_seconds": MEASURE_SECONDS,
        "streams": STREAMS,
        "streams_per_connection": STREAMS_PER_CONNECTION,
        "checkpoint_seconds": CHECKPOINT_SECONDS,
    }
