"""Real `identity-service serve` processes for tests that kill them, and a
writer that keeps writing through a restart."""

import contextlib
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from tests.helpers import TenantAccess
from tests.processes import Processes, wait_until_serving

RPC_SECONDS = 10.0


@dataclass(frozen=True)
class Served:
    process: "subprocess.Popen[bytes]"
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


# Frequent checkpoints, so a consumer's last cursor is sometimes a checkpoint's.
_ENVIRONMENT = {"ROSTER_WATCH_CHECKPOINT_SECONDS": "0.5", "ROSTER_WATCH_POLL_SECONDS": "0.3"}


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
    processes = Processes(tmp_path)

    def start(listen: str) -> Served:
        arguments = ["--listen", listen, "--database-url", url]
        started = processes.start("identity_service", arguments, _ENVIRONMENT)
        served = Served(started.process, started.port())
        wait_until_serving(served.target)
        return served

    try:
        yield start
    finally:
        processes.kill_all()
