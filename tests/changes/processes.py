"""Real `identity-service serve` processes for tests that kill them, and a
writer that keeps writing through a restart."""

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from tests.helpers import TenantAccess

RPC_SECONDS = 10.0


@dataclass(frozen=True)
class Served:
    process: "subprocess.Popen[bytes]"
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def _environment() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_")}
    # Frequent checkpoints, so a consumer's last cursor is sometimes a checkpoint's.
    return {**clean, "ROSTER_WATCH_CHECKPOINT_SECONDS": "0.5", "ROSTER_WATCH_POLL_SECONDS": "0.3"}


def _listening_port(process: "subprocess.Popen[bytes]", log: Path) -> int:
    """The port `serve` reports it listens on (a bounded wait for startup)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"serve did not start within 30s:\n{log.read_text()}")


def _wait_until_serving(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        request = health_pb2.HealthCheckRequest(service="")
        response = health_pb2_grpc.HealthStub(channel).Check(
            request, timeout=RPC_SECONDS, wait_for_ready=True
        )
    assert response.status == health_pb2.HealthCheckResponse.SERVING


class Writer(threading.Thread):
    """Creates users one after another until stopped. A user is acknowledged
    when CreateUser returned OK; a failed call (the server died or was down)
    leaves its user in doubt, and the next call uses a new name."""

    def __init__(self, users: user_service_pb2_grpc.UserServiceStub, tenant: TenantAccess) -> None:
        super().__init__(daemon=True)
        self._users = users
        self._tenant = tenant
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self.acknowledged: list[user_pb2.User] = []
        self.failures: list[grpc.StatusCode] = []

    def run(self) -> None:
        number = 0
        while not self._stopping.is_set():
            number += 1
            user = user_pb2.User(user_name=f"w-{number}")
            request = user_service_pb2.CreateUserRequest(parent=self._tenant.parent, user=user)
            try:
                created = self._users.CreateUser(
                    request, metadata=self._tenant.metadata, timeout=2.0, wait_for_ready=True
                )
            except grpc.RpcError as error:
                with self._progress:
                    self.failures.append(error.code())
                continue
            with self._progress:
                self.acknowledged.append(created)
                self._progress.notify_all()

    def wait_for_more(self, count: int, timeout: float) -> None:
        """Until `count` more writes are acknowledged."""
        with self._progress:
            target = len(self.acknowledged) + count
            done = self._progress.wait_for(lambda: len(self.acknowledged) >= target, timeout)
        assert done, f"{count} more writes not acknowledged within {timeout}s: {self.failures}"

    def stop(self) -> None:
        """Stop writing; returns once the last call ended."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=RPC_SECONDS)
        assert not self.is_alive()


@contextlib.contextmanager
def serve_processes(tmp_path: Path, url: str) -> Iterator[Callable[[str], Served]]:
    """Starts `identity-service serve` on the test's file at a listen address;
    every process still running at the end is killed."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(listen: str) -> Served:
        log = tmp_path / f"serve-{len(processes)}.log"
        command = [sys.executable, "-m", "identity_service", "serve", "--listen", listen]
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*command, "--database-url", url],
                env=_environment(),
                stdout=subprocess.DEVNULL,
                stderr=output,
            )
        processes.append(process)
        served = Served(process, _listening_port(process, log))
        _wait_until_serving(served.target)
        return served

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
