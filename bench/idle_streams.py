"""Idle change streams must not slow unary calls: 1,000 concurrent idle
WatchChanges streams on one process are normal.

GetUser runs in a closed loop, first alone (the baseline), then while
another process holds 1,000 idle streams of the same tenant, in the same run
against the same server. The measuring window is longer than the server's
checkpoint interval (default 15 s), so every stream sends at least one
periodic checkpoint while it is measured; the run checks that it did."""

import grpc
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from bench.load import Call, closed_loop
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
    """Measure the baseline, then the same load with the streams open."""
    async with grpc.aio.insecure_channel(system.grpc_target) as channel:
        get_user = await _seeded(channel, system.secret)
        baseline = await _phase("baseline", get_user, system)
        async with Watchers.holding(system, STREAMS) as watchers:
            loaded = await _phase(f"with {STREAMS:,} idle streams", get_user, system, watchers)
            checkpoints = await watchers.report()
    if checkpoints.fewest < 1:
        raise RuntimeError("a stream sent no checkpoint while measured: lengthen the window")
    return Result(
        benchmark="idle_streams",
        summary=(
            f"GetUser, {CONCURRENCY} in flight, {MEASURE_SECONDS:g} s after "
            f"{WARMUP_SECONDS:g} s warm-up; streams checkpoint every {CHECKPOINT_SECONDS:g} s"
        ),
        setup=_setup(),
        rows=[baseline, loaded],
        targets=[
            Target(
                "throughput, with streams / baseline",
                loaded.requests_per_second / baseline.requests_per_second,
                MIN_THROUGHPUT,
                at_least=True,
            ),
            Target(
                "p99, with streams / baseline",
                loaded.p99_ms / baseline.p99_ms,
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


async def _phase(name: str, call: Call, system: System, watchers: Watchers | None = None) -> Row:
    """Warm up, then measure; with watchers, count their checkpoints from
    the start of the measuring on."""
    await closed_loop(call, concurrency=CONCURRENCY, seconds=WARMUP_SECONDS)
    if watchers is not None:
        await watchers.mark()
    measured = await closed_loop(call, concurrency=CONCURRENCY, seconds=MEASURE_SECONDS)
    return Row(
        name,
        measured.requests_per_second,
        measured.p50_ms,
        measured.p99_ms,
        system.rss_mb()["identity_service"],
        measured.calls,
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
