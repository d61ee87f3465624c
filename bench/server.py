"""A real identity_service for a benchmark: migrated, with one tenant and its
credentials, serving on a free local port in a subprocess.

The server runs as deployed, with its default settings; ROSTER_* variables of
the caller's environment are dropped so they cannot change what is measured."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TENANT = "bench"
_CLI = (sys.executable, "-m", "identity_service")  # `identity-service`, in this venv
_START_SECONDS = 30.0
_STOP_SECONDS = 15.0
_LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class Server:
    """A running identity_service: where to call it, with which secrets, and
    its process (to read its memory)."""

    target: str
    scim_secret: str  # the tenant's SCIM token: reads and writes
    watch_secret: str  # a credential of the tenant with the watch scope
    process: "subprocess.Popen[bytes]"

    def rss_mb(self) -> float:
        """The server process's resident memory now (VmRSS, Linux), in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024


def environment() -> dict[str, str]:
    """This process's environment without ROSTER_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_")}


@contextmanager
def running(workdir: Path, database_url: str | None = None) -> Iterator[Server]:
    """Migrate a database (`database_url`, an empty one; else a SQLite file
    in `workdir`), create the tenant and its credentials, and serve until
    the block ends (SIGTERM, then wait). The server's log goes to
    `workdir`/server.log; its end is shown when the block fails."""
    database = ["--database-url", database_url or f"sqlite:///{workdir / 'bench.db'}"]
    _cli("migrate", *database)
    scim_secret = _cli("tenants", "create", TENANT, *database)
    watch_secret = _cli("credentials", "create", "--tenant", TENANT, "--scopes", "watch", *database)
    target = f"127.0.0.1:{_free_port()}"
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [*_CLI, "serve", *database, "--listen", target],
            env=environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(target, process)
            yield Server(target, scim_secret, watch_secret, process)
        except BaseException:
            tail = log_path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
            print("the server's log ends:", *tail, sep="\n", file=sys.stderr)
            raise
        finally:
            _stop(process)


def _cli(*args: str) -> str:
    """Run an operator command; return the last line of its stdout (where
    the commands that make a credential print its secret)."""
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [*_CLI, *args], env=environment(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"identity-service {args[0]} failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(target: str, process: "subprocess.Popen[bytes]") -> None:
    """Ask grpc.health.v1 until the server answers SERVING."""
    deadline = time.monotonic() + _START_SECONDS
    request = health_pb2.HealthCheckRequest()
    serving = health_pb2.HealthCheckResponse.SERVING
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"identity-service serve exited with {process.returncode}")
            with contextlib.suppress(grpc.RpcError):
                if health.Check(request, timeout=1).status == serving:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"identity-service serve did not serve within {_START_SECONDS:g}s")


def _stop(process: "subprocess.Popen[bytes]") -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
