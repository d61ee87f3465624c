"""Real `identity-service serve` and `scim-facade serve` processes for the
tests that start, stop or kill them: each logs to its own file, listens on
the port it reports, and is killed at the end if still running."""

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

STARTUP_SECONDS = 30.0


def environment(**overrides: str) -> dict[str, str]:
    """This process's environment without ROSTER_* settings, plus `overrides`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_")}
    return {**clean, **overrides}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_until_serving(target: str) -> None:
    """Until identity_service's grpc.health.v1 answers SERVING."""
    with grpc.insecure_channel(target) as channel:
        request = health_pb2.HealthCheckRequest(service="")
        response = health_pb2_grpc.HealthStub(channel).Check(
            request, timeout=STARTUP_SECONDS, wait_for_ready=True
        )
    assert response.status == health_pb2.HealthCheckResponse.SERVING, (target, response)


@dataclass(frozen=True)
class Started:
    process: "subprocess.Popen[bytes]"
    log: Path

    def port(self) -> int:
        """The port in the process's "listening on" (identity_service) or
        "Uvicorn running on" (scim_facade) line, waiting for it."""
        pattern = r"(?:listening on |running on http://)127\.0\.0\.1:(\d+)"
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(f"{self.log.name} exited with {code}:\n{self.log.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"{self.log.name}: not listening:\n{self.log.read_text()}")


_NO_RATE_LIMITS = {
    "ROSTER_RATE_LIMIT_TENANT_PER_SECOND": "0",
    "ROSTER_RATE_LIMIT_CREDENTIAL_PER_SECOND": "0",
}


class Processes:
    """The processes of one test, each logging to a file in `directory`."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._started: list[subprocess.Popen[bytes]] = []

    def start(self, module: str, arguments: list[str], overrides: dict[str, str]) -> Started:
        """Run `python -m module serve ...` (not waiting for it). Without rate
        limits unless `overrides` set them: these tests drive loads no IdP
        would (the limits have tests of their own, tests/test_rate_limit.py)."""
        log = self._directory / f"{module}-{len(self._started)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", module, "serve", *arguments],
                env=environment(**(_NO_RATE_LIMITS | overrides)),
                stdout=subprocess.DEVNULL,
                stderr=output,
            )
        self._started.append(process)
        return Started(process, log)

    def kill_all(self) -> None:
        for process in self._started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
