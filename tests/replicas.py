"""Roster as several replicas on one PostgreSQL database, for the
multi-replica test: real `identity-service serve` and `scim-facade serve`
processes (as tests/changes/processes.py starts the former, but with the
fallback poll of change streams out of the way), and the SCIM calls a test
makes through the facades, each kept as an Answer."""

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_STARTUP_SECONDS = 30.0


def migrate(url: str) -> None:
    """`identity-service migrate`, as an operator runs it before the replicas."""
    command = [sys.executable, "-m", "identity_service", "migrate", "--database-url", url]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()


# The processes' change streams poll the log only every 10 minutes: a
# watcher hears of another replica's commits through its wake-up signal
# (LISTEN/NOTIFY), never through the fallback poll, within a test.
_SERVICE_ENVIRONMENT = {
    "ROSTER_WATCH_POLL_SECONDS": "600",
    "ROSTER_WATCH_CHECKPOINT_SECONDS": "0.5",
}


@dataclass(frozen=True)
class _Started:
    process: "subprocess.Popen[bytes]"
    log: Path

    def port(self) -> int:
        """The port in the process's "listening on" (identity_service) or
        "Uvicorn running on" (scim_facade) line: it listens on port 0."""
        pattern = r"(?:listening on |running on http://)127\.0\.0\.1:(\d+)"
        deadline = time.monotonic() + _STARTUP_SECONDS
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(f"{self.log.name} exited with {code}:\n{self.log.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"{self.log.name}: not listening:\n{self.log.read_text()}")


class Processes:
    """Processes of one test, each logging to its own file; every one still
    running at the end is killed."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._started: list[subprocess.Popen[bytes]] = []

    def start(self, module: str, arguments: list[str], environment: dict[str, str]) -> _Started:
        """Run `python -m module serve ...` (not waiting for it)."""
        log = self._directory / f"{module}-{len(self._started)}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_")}
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", module, "serve", *arguments],
                env={**clean, **environment},
                stdout=subprocess.DEVNULL,
                stderr=output,
            )
        self._started.append(process)
        return _Started(process, log)

    def kill_all(self) -> None:
        for process in self._started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def identity_services(processes: Processes, url: str, count: int) -> list[str]:
    """`count` replicas of identity_service on the database, started at
    once, each reporting SERVING; their HOST:PORTs."""
    arguments = ["--database-url", url, "--listen", "127.0.0.1:0"]
    started = [
        processes.start("identity_service", arguments, _SERVICE_ENVIRONMENT) for _ in range(count)
    ]
    targets = [f"127.0.0.1:{s.port()}" for s in started]
    for target in targets:
        with grpc.insecure_channel(target) as channel:
            request = health_pb2.HealthCheckRequest(service="")
            response = health_pb2_grpc.HealthStub(channel).Check(
                request, timeout=_STARTUP_SECONDS, wait_for_ready=True
            )
        assert response.status == health_pb2.HealthCheckResponse.SERVING, (target, response)
    return targets


def scim_facades(processes: Processes, identity_targets: list[str]) -> list[str]:
    """A facade in front of each identity_service, started at once, each
    answering its ServiceProviderConfig (which needs no token); their SCIM
    base URLs."""
    started = [
        processes.start(
            "scim_facade",
            [],
            {"ROSTER_FACADE_IDENTITY_TARGET": target, "ROSTER_FACADE_LISTEN": "127.0.0.1:0"},
        )
        for target in identity_targets
    ]
    base_urls = [f"http://127.0.0.1:{s.port()}/scim/v2" for s in started]
    for base_url in base_urls:
        _wait_until_ready(base_url)
    return base_urls


def _wait_until_ready(base_url: str) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    last: object = None
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{base_url}/ServiceProviderConfig", timeout=2.0)
        except httpx.TransportError as error:
            last = error
        else:
            if answer.status_code == 200:
                return
            last = answer
        time.sleep(0.05)
    raise AssertionError(f"the facade at {base_url} is not ready: {last!r}")


@dataclass(frozen=True)
class Answer:
    """One SCIM request through a facade and what it answered."""

    facade: int
    method: str
    path: str
    sent: Any
    status: int
    body: Any

    def __str__(self) -> str:
        return (
            f"{self.method} {self.path} via facade {self.facade} {self.sent!r}"
            f" -> {self.status} {self.body!r}"
        )


class Scim:
    """A tenant's IdP calling the facades; every call is recorded, in the
    order the calls ended."""

    def __init__(self, base_urls: tuple[str, ...], token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
        # httpx clients are thread-safe: one per facade, shared by the threads.
        self._clients = tuple(
            httpx.Client(base_url=url, headers=headers, timeout=30.0) for url in base_urls
        )
        self._lock = threading.Lock()
        self.answers: list[Answer] = []

    def call(
        self,
        facade: int,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        response = self._clients[facade].request(method, path, json=body, params=params)
        try:
            content: Any = response.json() if response.content else None
        except ValueError:
            content = response.text
        answer = Answer(facade, method, path, body, response.status_code, content)
        with self._lock:
            self.answers.append(answer)
        return answer

    def close(self) -> None:
        for client in self._clients:
            client.close()


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}
