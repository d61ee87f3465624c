"""A real `identity-service serve` process on a fixed port, so a test can
stop (SIGSTOP), continue, kill -9 and restart it while the facade keeps one
channel to that address; and a migrated SQLite file with a tenant."""

import signal
from dataclasses import dataclass
from pathlib import Path

import httpx2

from identity_service.store import migrate
from identity_service.store.engine import Database
from tests.helpers import TenantAccess, new_tenant
from tests.processes import Processes, Started, free_port, wait_until_serving

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class Served:
    """`python -m module serve` at 127.0.0.1:`port`, across restarts."""

    def __init__(
        self, processes: Processes, module: str, arguments: list[str], **environment: str
    ) -> None:
        self._processes = processes
        self._module = module
        self._arguments = arguments
        self._environment = environment
        self.port = free_port()
        self._current: Started | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        arguments = ["--listen", self.address, *self._arguments]
        self._current = self._processes.start(self._module, arguments, self._environment)
        assert self._current.port() == self.port

    @property
    def log(self) -> Path:
        """The log file of the process started last."""
        assert self._current is not None
        return self._current.log

    def signal(self, signum: signal.Signals) -> None:
        assert self._current is not None
        self._current.process.send_signal(signum)

    def kill(self) -> None:
        """kill -9, and wait until it is gone."""
        assert self._current is not None
        self._current.process.kill()
        self._current.process.wait(timeout=30)


class Identity(Served):
    """identity_service serving the database at `url`."""

    def __init__(self, processes: Processes, url: str, **environment: str) -> None:
        super().__init__(processes, "identity_service", ["--database-url", url], **environment)

    @property
    def target(self) -> str:
        return self.address

    def start(self) -> None:
        super().start()
        wait_until_serving(self.target)


class Facade(Served):
    """scim_facade in front of identity_service at `target`."""

    def __init__(self, processes: Processes, target: str, deadline_seconds: float) -> None:
        deadline = {"ROSTER_FACADE_IDENTITY_TIMEOUT_SECONDS": str(deadline_seconds)}
        super().__init__(processes, "scim_facade", ["--identity-target", target], **deadline)

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@dataclass(frozen=True)
class Stored:
    """A migrated database and a tenant in it."""

    url: str
    database: Database
    tenant: TenantAccess


def stored_sqlite(directory: Path) -> Stored:
    url = f"sqlite:///{directory / 'roster.db'}"
    return stored(url)


def stored(url: str) -> Stored:
    database = Database.from_url(url)
    migrate.upgrade(database.engine)
    return Stored(url, database, new_tenant(database))


def assert_unavailable(response: httpx2.Response) -> None:
    """503, a SCIM error body and a positive Retry-After (RFC 7644 §3.12)."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "503"
    assert int(response.headers["retry-after"]) > 0
