"""The two systems under test, started over a dataset: Roster
(identity_service and the SCIM facade, two processes) and scim2-server (one
process). Both run with their defaults and log warnings only."""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import processes
from bench.dataset import Dataset
from bench.processes import Process
from bench.seed import TENANT, Seeded

ROSTER = "Roster"
SCIM2_SERVER = "scim2-server"
_IDENTITY = (sys.executable, "-m", "identity_service")
_FACADE = (sys.executable, "-m", "scim_facade")


@dataclass(frozen=True)
class System:
    """A SCIM server under test: where to send requests, with which
    headers, and its processes (to read their memory)."""

    name: str
    dataset: Dataset
    base_url: str
    headers: dict[str, str]
    processes: Sequence[Process]
    grpc_target: str = ""  # Roster: identity_service, for the direct rows
    secret: str = ""  # Roster: the tenant's SCIM token (reads and writes)
    watch_secret: str = ""  # Roster: a credential with the watch scope

    def rss_mb(self) -> dict[str, float]:
        return {process.name: process.rss_mb() for process in self.processes}


def _cli(url: str, *args: str) -> str:
    """An operator command on the database; its last line (a new secret)."""
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [*_IDENTITY, *args, "--database-url", url],
        env=processes.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"identity-service {args[0]} failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


@asynccontextmanager
async def roster(seeded: Seeded) -> AsyncIterator[System]:
    """identity_service serving the seeded database, and the facade in
    front of it, each in a process of its own at its default settings, but
    for the rate limits: the load generator is one runaway client by design,
    and scim2-server limits nothing."""
    secret = _cli(seeded.url, "credentials", "create", "--tenant", TENANT, "--scopes", "scim")
    watch = _cli(seeded.url, "credentials", "create", "--tenant", TENANT, "--scopes", "watch")
    target = f"127.0.0.1:{processes.free_port()}"
    facade_port = processes.free_port()
    identity_command = [*_IDENTITY, "serve", "--database-url", seeded.url, "--listen", target]
    facade_command = [
        *(*_FACADE, "serve", "--listen", f"127.0.0.1:{facade_port}"),
        *("--identity-target", target, "--log-level", "WARNING"),
    ]
    quiet = processes.environment(
        {
            "ROSTER_LOG_LEVEL": "WARNING",
            "ROSTER_RATE_LIMIT_TENANT_PER_SECOND": "0",
            "ROSTER_RATE_LIMIT_CREDENTIAL_PER_SECOND": "0",
        }
    )
    async with AsyncExitStack() as stack:
        identity = await stack.enter_async_context(
            processes.started(
                "identity_service",
                identity_command,
                env=quiet,
                ready=lambda p: _serving(p, target),
            )
        )
        facade = await stack.enter_async_context(
            processes.started(
                "facade", facade_command, ready=lambda p: processes.wait_for_port(p, facade_port)
            )
        )
        yield System(
            ROSTER,
            seeded.dataset,
            f"http://127.0.0.1:{facade_port}/scim/v2",
            {"Authorization": f"Bearer {secret}"},
            (identity, facade),
            target,
            secret,
            watch,
        )


async def serving(target: str) -> bool:
    """Whether identity_service's health (readiness) is SERVING now."""
    request = health_pb2.HealthCheckRequest()
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(request, timeout=1)
        except grpc.RpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


async def _serving(handle: Process, target: str) -> None:
    """Until grpc.health.v1 answers SERVING."""
    request = health_pb2.HealthCheckRequest()
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            if handle.process.returncode is not None:
                raise RuntimeError(f"identity_service exited with {handle.process.returncode}")
            with suppress(grpc.RpcError):
                answer = await health.Check(request, timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            await asyncio.sleep(0.1)


@asynccontextmanager
async def scim2_server(data: Dataset) -> AsyncIterator[System]:
    """scim2-server holding `data` in memory (see bench.scim2_server)."""
    port = processes.free_port()
    command = [sys.executable, "-m", "bench.scim2_server", str(port), str(data.users)]
    async with processes.started(SCIM2_SERVER, command) as process:
        yield System(SCIM2_SERVER, data, f"http://127.0.0.1:{port}/v2", {}, (process,))
