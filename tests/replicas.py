"""Roster as several replicas on one PostgreSQL database, for the
multi-replica test: real `identity-service serve` and `scim-facade serve`
processes (tests/processes.py), with the fallback poll of change streams
out of the way, and the SCIM calls a test makes through the facades, each
kept as an Answer."""

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.processes import STARTUP_SECONDS, Processes, wait_until_serving

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


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


def identity_services(processes: Processes, url: str, count: int) -> list[str]:
    """`count` replicas of identity_service on the database, started at
    once, each reporting SERVING; their HOST:PORTs."""
    arguments = ["--database-url", url, "--listen", "127.0.0.1:0"]
    started = [
        processes.start("identity_service", arguments, _SERVICE_ENVIRONMENT) for _ in range(count)
    ]
    targets = [f"127.0.0.1:{s.port()}" for s in started]
    for target in targets:
        wait_until_serving(target)
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
    deadline = time.monotonic() + STARTUP_SECONDS
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
