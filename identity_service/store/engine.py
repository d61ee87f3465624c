"""Engines and transactions. The service layer opens a transaction with
`Database.write()` or `Database.read()` and hands the connection to the store
functions, which never commit."""

import collections
import contextvars
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from identity_service.domain.errors import StorageUnavailable

SQLITE_BUSY_TIMEOUT_MS = 5000
# What a committed write changed, as conn.info keys of tenant id sets, and
# the topics commit listeners follow: the tenants whose change log the
# transaction appended to; those whose state or credentials it changed.
LOG = "roster_log_changed"
ACCESS = "roster_access_changed"
_TOPICS = (LOG, ACCESS)

# Called after a write transaction committed, with the tenants it changed
# in the listener's topic; in the writer's thread.
CommitListener = Callable[[frozenset[int]], None]


def note_change(conn: sa.Connection, tenant_id: int, *, access: bool = False) -> None:
    """Remember that this write transaction appended to `tenant_id`'s log
    (and, with `access`, changed who may call on it), so the commit
    listeners hear of it once it commits."""
    conn.info.setdefault(LOG, set()).add(tenant_id)
    if access:
        conn.info.setdefault(ACCESS, set()).add(tenant_id)


def fold(text: str) -> str:
    """The comparison key of a case-insensitive string: two strings have the
    same key exactly when they are a canonical caseless match (Unicode §3.13,
    D145: NFD, full case folding, NFD again), kept composed (NFC). Folding
    before the last normalisation puts the marks that folding moves, such as
    the iota of U+1FB3, back in canonical order (docs/decisions/0016)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


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
    # The dialect emits BEGIN itself (_SQLiteDialect.do_begin); the sqlite3
    # module's own would begin a transaction only before a write.
    dbapi_connection.isolation_level = None
    dbapi_connection.create_function("roster_fold", 1, _sqlite_fold, deterministic=True)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _no_autocheckpoint(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint = 0")


class _SQLiteConnection(sqlite3.Connection):
    """A sqlite3 connection that knows how its next transaction begins, and
    whether that BEGIN may wait for another writer."""

    begin_mode = "DEFERRED"
    begin_waits = True


class WriteWouldWait(Exception):
    """A write that may not wait (Database.now_or_never) found SQLite's write
    lock taken: nothing was done."""


# Set by Database.now_or_never: [True] until its first write transaction begins.
_not_waiting: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "roster_not_waiting", default=None
)


class _SQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, beginning every transaction with SQLite's BEGIN (a read
    sees one snapshot). A dialect method rather than SQLAlchemy's "begin"
    event: with any connection event registered, SQLAlchemy looks up its
    listeners on every statement, a third of a key lookup's cost."""

    supports_statement_cache = True

    def do_begin(self, dbapi_connection: Any) -> None:
        # SQLAlchemy passes the pool's proxy of the connection: an attribute
        # set on the proxy would stay there, and the driver's connection
        # would begin every later transaction, reads too, IMMEDIATE.
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        mode, driver.begin_mode = driver.begin_mode, "DEFERRED"
        if driver.begin_waits:
            driver.execute(f"BEGIN {mode}")
            return
        driver.begin_waits = True
        driver.execute("PRAGMA busy_timeout = 0")
        try:
            driver.execute(f"BEGIN {mode}")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                raise WriteWouldWait from exc
            raise
        finally:
            driver.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


registry.register("sqlite.roster", __name__, "_SQLiteDialect")


def create_engine(database_url: str, *, pool_size: int = 10, max_overflow: int = 10) -> sa.Engine:
    """An engine for a database URL: sqlite:///path (the file's directory is
    created) or postgresql://user@host:port/db (driven by psycopg 3, with a
    pool of `pool_size` connections plus up to `max_overflow` more)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url.set(drivername="sqlite+roster"),
            connect_args={"check_same_thread": False, "factory": _SQLiteConnection},
        )
        sa.event.listen(engine, "connect", _on_sqlite_connect)  # a pool event: free per statement
        return engine
    if url.get_backend_name() != "postgresql":
        raise ValueError("the database URL must start with sqlite:/// or postgresql://")
    return sa.create_engine(
        url.set(drivername="postgresql+psycopg"),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,  # a connection the server closed is replaced, not used
        # Writes run at READ COMMITTED (the default) and serialise per tenant
        # on the tenant row (Database.write); see docs/decisions/0009.
    )


Statement = sa.Select[Any] | sa.Insert | sa.Update | sa.Delete


class Prepared:
    """A prebuilt statement of the hot path: the reads every call makes (a
    user by id, a key lookup, a member page, a tenant's last change) and the
    writes every mutation makes (a user row, the change log). On SQLite it
    runs straight on the driver's connection, in the transaction SQLAlchemy
    began: compiled once, its parameters and rows converted by the columns'
    own type processors. SQLAlchemy's execution machinery (execution context,
    result object) cost more than the query itself (docs/decisions/0012).
    On PostgreSQL it runs through SQLAlchemy."""

    def __init__(self, statement: Statement, keys: Sequence[str] = ()) -> None:
        """`keys`: the parameters an INSERT or UPDATE is always given; they
        name the columns it writes, and each is required."""
        self.statement = statement
        self._keys = tuple(keys)
        self._sqlite: _Compiled | None = None

    def rows(self, conn: sa.Connection, params: Mapping[str, Any]) -> list[Any]:
        """The rows of a SELECT (or of RETURNING), with attribute access by
        column name, as SQLAlchemy's."""
        sqlite = self._on_sqlite(conn)
        if sqlite is None:
            return list(conn.execute(self.statement, params))
        driver, compiled = sqlite
        arguments = compiled.arguments(params)
        with _as_sqlalchemy_error(compiled.sql, arguments):
            found = driver.execute(compiled.sql, arguments).fetchall()
        return [compiled.row(raw) for raw in found]

    def run(
        self, conn: sa.Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> int:
        """Run an INSERT, UPDATE or DELETE once, or once per mapping of a
        sequence; the number of rows it changed."""
        sqlite = self._on_sqlite(conn)
        if sqlite is None:
            return int(conn.execute(self.statement, params).rowcount)
        driver, compiled = sqlite
        if isinstance(params, Mapping):
            arguments = compiled.arguments(params)
            with _as_sqlalchemy_error(compiled.sql, arguments):
                return driver.execute(compiled.sql, arguments).rowcount
        many = [compiled.arguments(p) for p in params]
        with _as_sqlalchemy_error(compiled.sql, many):
            return driver.executemany(compiled.sql, many).rowcount

    def _on_sqlite(self, conn: sa.Connection) -> "tuple[_SQLiteConnection, _Compiled] | None":
        """The driver's connection and the compiled statement, on SQLite."""
        driver = conn.connection.driver_connection
        if not isinstance(driver, _SQLiteConnection):
            return None
        return driver, self._sqlite or self._compile(conn.dialect)

    def _compile(self, dialect: sa.Dialect) -> "_Compiled":
        compiled = self.statement.compile(dialect=dialect, column_keys=list(self._keys) or None)
        binds = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect) or _same
            # A literal of the statement (a LIMIT's OFFSET 0) has its value.
            required = bind.required or name in self._keys
            binds.append((name, convert, _REQUIRED if required else bind.effective_value))
        columns = self.statement.exported_columns
        shape = collections.namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        processed = [
            (index, process)
            for index, column in enumerate(columns)
            if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))
        ]

        def row(raw: tuple[Any, ...]) -> Any:
            values = list(raw)
            for index, process in processed:
                values[index] = process(values[index])
            return shape._make(values)

        self._sqlite = _Compiled(compiled.string, tuple(binds), row, frozenset(self._keys))
        return self._sqlite


@contextmanager
def _as_sqlalchemy_error(sql: str, arguments: Any) -> Iterator[None]:
    """A driver error as SQLAlchemy raises it: a constraint is an
    IntegrityError, a locked database an OperationalError (StorageUnavailable)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, arguments, exc, sqlite3.Error) from exc


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: tuple[tuple[str, Callable[[Any], Any], Any], ...]  # name, processor, value
    row: Callable[[tuple[Any, ...]], Any]
    keys: frozenset[str]  # the parameters a write is given, all of them

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        if self.keys and params.keys() - self.keys:
            # SQLAlchemy would write it; here it would be dropped.
            raise KeyError(
                f"not a parameter of this statement: {sorted(params.keys() - self.keys)}"
            )
        return [
            convert(params[name] if value is _REQUIRED else params.get(name, value))
            for name, convert, value in self.binds
        ]


_REQUIRED = object()  # a parameter the caller gives


def _same(value: Any) -> Any:
    return value


@contextmanager
def _unavailable_when_unreachable() -> Iterator[None]:
    """The database unreachable, gone away, locked past the busy timeout, or
    the pool exhausted: StorageUnavailable (UNAVAILABLE, retry), not an
    internal error. The transaction is rolled back."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.TimeoutError) as exc:
        raise StorageUnavailable(
            "the database cannot be reached right now; retry (with the same request_id)"
        ) from exc


class Database:
    """Hands out transactions. The only place that commits."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._listeners: dict[str, tuple[CommitListener, ...]] = dict.fromkeys(_TOPICS, ())
        self._listeners_lock = threading.Lock()
        # SQLite has one writer at a time. Its busy handler makes waiting
        # writers poll with sleeps, which leaves the lock idle between
        # transactions; this process's writers queue on a lock instead, and
        # the busy timeout is left to writers of other processes.
        self._sqlite_writer = threading.RLock() if engine.dialect.name == "sqlite" else None
        # PostgreSQL: a read sees one snapshot for all its statements (a List
        # call's change cursor and its page agree), and never writes.
        self._read_options: dict[str, Any] = (
            {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            if engine.dialect.name == "postgresql"
            else {}
        )

    @classmethod
    def from_url(cls, database_url: str, **pool: int) -> "Database":
        return cls(create_engine(database_url, **pool))

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with _unavailable_when_unreachable(), self._writer(), self._write() as conn:
            yield conn

    @contextmanager
    def now_or_never(self) -> Iterator[None]:
        """Within it, the first write transaction on SQLite begins only if no
        writer holds the write lock at this instant, of this process or of
        another; else it raises WriteWouldWait, having done nothing. Later
        write transactions wait as usual. (For writes on the event loop,
        which must never wait for a lock: decision 0021.)"""
        token = _not_waiting.set([True])
        try:
            yield
        finally:
            _not_waiting.reset(token)

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """This process's turn to write, on SQLite; StorageUnavailable when
        it does not come within the busy timeout."""
        if self._sqlite_writer is None:
            yield
            return
        not_waiting = _not_waiting.get()
        if not_waiting and not_waiting[0]:
            if not self._sqlite_writer.acquire(blocking=False):
                raise WriteWouldWait
        elif not self._sqlite_writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise StorageUnavailable(
                "the database is busy with other writes; retry (with the same request_id)"
            )
        try:
            yield
        finally:
            self._sqlite_writer.release()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A read-write transaction: committed on success, rolled back on
        error. On SQLite it holds the database's write lock from the start
        (BEGIN IMMEDIATE); on PostgreSQL the use case locks its tenant's row
        first (`store.tenants.lock_tenant`), so in both a transaction sees
        every write of its tenant that committed before it."""
        with self.engine.connect() as conn:
            # conn.info outlives the checkout (it is the pooled connection's).
            for topic in _TOPICS:
                conn.info[topic] = set()
            driver = conn.connection.driver_connection
            not_waiting = _not_waiting.get()
            if isinstance(driver, _SQLiteConnection):
                # A deferred transaction that upgrades to a write later fails
                # with SQLITE_BUSY instead of waiting for the lock.
                driver.begin_mode = "IMMEDIATE"
                driver.begin_waits = not (not_waiting and not_waiting[0])
            with conn.begin():
                if not_waiting:
                    not_waiting[0] = False
                yield conn
            changed = {topic: frozenset(conn.info.pop(topic)) for topic in _TOPICS}
        for topic, tenants in changed.items():
            if tenants:
                for listener in self._listeners[topic]:
                    listener(tenants)

    def add_commit_listener(self, listener: CommitListener, topic: str = LOG) -> None:
        """Call `listener` after every commit that changed tenants in `topic`."""
        with self._listeners_lock:
            self._listeners = {**self._listeners, topic: (*self._listeners[topic], listener)}

    def remove_commit_listener(self, listener: CommitListener, topic: str = LOG) -> None:
        with self._listeners_lock:
            kept = tuple(x for x in self._listeners[topic] if x is not listener)
            self._listeners = {**self._listeners, topic: kept}

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction: one consistent snapshot."""
        with (
            _unavailable_when_unreachable(),
            self.engine.connect().execution_options(**self._read_options) as conn,
            conn.begin(),
        ):
            yield conn

    def checkpoint_apart(self) -> None:
        """On SQLite, from now on no commit checkpoints the WAL (SQLite's
        auto-checkpoint, which copies it into the database file and syncs
        that file, in the committing thread: on the event loop every call
        would wait for the disk); `checkpoint` does, where its caller runs it."""
        if self.is_postgresql or sa.event.contains(self.engine, "connect", _no_autocheckpoint):
            return
        sa.event.listen(self.engine, "connect", _no_autocheckpoint)  # a pool event
        self.engine.dispose()  # the pooled connections reconnect with it

    def checkpoint(self) -> None:
        """Copy the WAL into the database file as far as readers allow
        (PASSIVE: it waits for no reader). It holds this process's write
        turn: a frame committed while it ran would stay in the WAL, and SQLite
        starts the WAL afresh only once every frame is in the file, so under
        a steady write load the WAL would grow from checkpoint to checkpoint."""
        with self._writer():
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
            finally:
                raw.close()

    def dispose(self) -> None:
        self.engine.dispose()
