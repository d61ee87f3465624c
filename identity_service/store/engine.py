"""Engines and transactions. The service layer opens a transaction with
`Database.write()` or `Database.read()` and hands the connection to the store
functions, which never commit."""

import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

SQLITE_BUSY_TIMEOUT_MS = 5000
# conn.info key: the tenants whose change log the open write transaction appended to.
_CHANGED_TENANTS = "roster_changed_tenants"

# Called after a write transaction committed, with the tenants whose change
# log it appended to; in the writer's thread.
CommitListener = Callable[[frozenset[int]], None]


def note_change(conn: sa.Connection, tenant_id: int) -> None:
    """Remember that this write transaction appended to `tenant_id`'s log, so
    the commit listeners hear of it once it commits."""
    conn.info.setdefault(_CHANGED_TENANTS, set()).add(tenant_id)


def fold(text: str) -> str:
    """The comparison key of a case-insensitive string: NFC, then case folding."""
    return unicodedata.normalize("NFC", text).casefold()


class folded(FunctionElement[str]):  # noqa: N801 - SQL function style
    """SQL: the case-insensitive comparison key of a string expression, the same
    as `fold` in Python (a registered function on SQLite, lower() elsewhere)."""

    type = sa.String()
    inherit_cache = True


@compiles(folded, "sqlite")
def _folded_sqlite(element: folded, compiler: Any, **kw: Any) -> str:
    return f"roster_fold({compiler.process(element.clauses, **kw)})"


@compiles(folded)
def _folded_default(element: folded, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


def _sqlite_fold(value: str | None) -> str | None:
    return fold(value) if isinstance(value, str) else value


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (see _on_sqlite_begin).
    dbapi_connection.isolation_level = None
    dbapi_connection.create_function("roster_fold", 1, _sqlite_fold, deterministic=True)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _on_sqlite_begin(connection: sa.Connection) -> None:
    # Writers take the write lock up front (BEGIN IMMEDIATE): a deferred
    # transaction that upgrades later fails with SQLITE_BUSY instead of waiting.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(database_url: str) -> sa.Engine:
    """An engine for a database URL: sqlite:///path (the file's directory is
    created) or postgresql://user@host:port/db."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(url, pool_pre_ping=True)


class Database:
    """Hands out transactions. The only place that commits."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._listeners: tuple[CommitListener, ...] = ()
        self._listeners_lock = threading.Lock()

    @classmethod
    def from_url(cls, database_url: str) -> "Database":
        return cls(create_engine(database_url))

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A read-write transaction: committed on success, rolled back on error."""
        with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
            # conn.info outlives the checkout (it is the pooled connection's).
            conn.info[_CHANGED_TENANTS] = set()
            with conn.begin():
                yield conn
            changed = frozenset(conn.info.pop(_CHANGED_TENANTS))
        if changed:
            for listener in self._listeners:
                listener(changed)

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call `listener` after every commit that appended to a change log."""
        with self._listeners_lock:
            self._listeners = (*self._listeners, listener)

    def remove_commit_listener(self, listener: CommitListener) -> None:
        with self._listeners_lock:
            self._listeners = tuple(x for x in self._listeners if x is not listener)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction: one consistent snapshot, never committed."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
