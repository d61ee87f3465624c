"""A real PostgreSQL server for the tests: initdb in a temporary directory,
postgres on 127.0.0.1 at a free port, stopped and removed at the end.
PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` system user that Debian's package creates."""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql

from tests.processes import free_port

_DEBIAN_BIN = Path("/usr/lib/postgresql/15/bin")
_USER = "roster"


def _program(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(_DEBIAN_BIN))
    if found is None:
        raise RuntimeError(
            f"{name} not found: install PostgreSQL 15 (Debian: apt-get install postgresql-15)"
        )
    return found


class Postgres:
    """One server; `database()` creates a fresh, empty database on it."""

    def __init__(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="roster-pg-"))
        self.data = self._directory / "data"
        self._log = self._directory / "postgres.log"
        self._as: dict[str, object] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self._directory, account.pw_uid, account.pw_gid)
            self._as = {"user": account.pw_uid, "group": account.pw_gid}
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        subprocess.run(
            [
                *(_program("initdb"), "-D", str(self.data), "-U", _USER),
                *("--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"),
            ],
            check=True,
            capture_output=True,
            **self._as,  # type: ignore[call-overload]
        )
        self._launch()

    def _launch(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    *(_program("postgres"), "-D", str(self.data), "-p", str(self.port)),
                    *("-c", "listen_addresses=127.0.0.1"),
                    *("-c", f"unix_socket_directories={self._directory}"),
                    *("-c", "max_connections=300"),
                    # Durability is not under test here; speed is welcome.
                    *("-c", "fsync=off", "-c", "synchronous_commit=off"),
                    *("-c", "full_page_writes=off"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                **self._as,  # type: ignore[call-overload]
            )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self._dsn("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(f"postgres exited:\n{self._log.read_text()}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres not ready:\n{self._log.read_text()}") from None
                time.sleep(0.1)

    def _dsn(self, database: str) -> str:
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """The URL of a new, empty database (as Roster takes it)."""
        name = f"roster_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self._dsn(name)

    def restart(self) -> None:
        """A fast shutdown (every client connection is closed) and a start
        on the same data and port."""
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)
        self._process.wait(timeout=30)
        self._launch()

    @property
    def admin_url(self) -> str:
        """A connection to the server's own `postgres` database."""
        return self._dsn("postgres")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            # SIGINT: fast shutdown (SIGTERM's "smart" one waits for clients).
            self._process.send_signal(signal.SIGINT)
            self._process.wait(timeout=30)
        shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Reachability:
    """Makes one PostgreSQL database unreachable for real, from an admin
    connection to another database: new connections are refused and the
    open ones are terminated, until it is reachable again."""

    def __init__(self, postgres: Postgres, url: str) -> None:
        self._admin = postgres.admin_url
        self._name = url.rpartition("/")[2]

    def cut(self) -> None:
        with psycopg.connect(self._admin, autocommit=True) as admin:
            admin.execute(self._allow(False))
        self.terminate()

    def terminate(self) -> int:
        """pg_terminate_backend of every open connection to the database (as
        a DBA or a failover would); how many there were."""
        with psycopg.connect(self._admin, autocommit=True) as admin:
            return len(
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (self._name,),
                ).fetchall()
            )

    def restore(self) -> None:
        with psycopg.connect(self._admin, autocommit=True) as admin:
            admin.execute(self._allow(True))

    def _allow(self, allowed: bool) -> sql.Composed:
        return sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
            sql.Identifier(self._name), sql.SQL("true" if allowed else "false")
        )
