"""PostgreSQL LISTEN/NOTIFY: which tenants' change logs other processes
appended to, as a hint.

`announce` runs in the writing transaction: PostgreSQL delivers the
notification only if it commits, after it commits, to every session that
listens, and folds duplicates within one transaction. A `Listener` holds
one dedicated connection (autocommit, application_name roster-listener)
that listens in a daemon thread and hands the tenant ids it hears to a
callback. Notifications sent while it does not listen (before it first
does, while it reconnects with backoff after losing its connection) are
lost, so the log stays the source of truth: each time it starts listening
it calls `listening`, after which everyone interested reads the log again,
and a reader that polls the log covers the outage itself."""

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import sqlalchemy as sa

log = logging.getLogger(__name__)

CHANNEL = "roster_changes"
APPLICATION_NAME = "roster-listener"
# How often the listening thread looks up from the socket to see whether it
# is asked to stop: bounds how long `close` takes.
_STOP_CHECK_SECONDS = 0.2
# Waits between reconnection attempts: the first at once, then doubling.
_BACKOFF_FIRST_SECONDS = 0.1
_BACKOFF_MAX_SECONDS = 5.0
# libpq settings the URL may override. A peer that vanished without closing
# the connection (a cut network) is noticed by TCP keepalives within about
# idle + interval * count seconds; a connection attempt gives up after
# connect_timeout, which also bounds `close` while connecting.
_DEFAULTS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "connect_timeout": 2,
}

Heard = Callable[[frozenset[int]], None]

# Built once: every write on PostgreSQL runs it.
_NOTIFY = sa.select(sa.func.pg_notify(CHANNEL, sa.bindparam("tenant_id", type_=sa.String())))


def announce(conn: sa.Connection, tenant_id: int) -> None:
    """Notify the listeners, once this transaction commits, that
    `tenant_id`'s change log moved. Nothing on SQLite, which has no
    notifications: other processes' commits to the file are polled for."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY, {"tenant_id": str(tenant_id)})


class Listener:
    """A thread that listens on CHANNEL over its own connection and calls
    `heard` with the tenant ids of each batch of notifications, and
    `listening` each time it starts listening (first, and after each
    reconnection): every commit after that call is heard. Both in that
    thread."""

    def __init__(self, engine: sa.Engine, heard: Heard, listening: Callable[[], None]) -> None:
        self._connect_args = _connect_args(engine)
        self._heard = heard
        self._listening = listening
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=APPLICATION_NAME, daemon=True)

    def start(self) -> None:
        """Connect and listen in the background; returns at once."""
        self._thread.start()

    def close(self) -> None:
        """Stop listening, close the connection and wait for the thread:
        about _STOP_CHECK_SECONDS when connected, up to the connect timeout
        while connecting."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        failing = False  # within an outage: warned already
        delay = 0.0
        while not self._stopping.is_set():
            try:
                with psycopg.connect(**self._connect_args) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if failing:
                        log.info("listening for change notifications again")
                    failing, delay = False, 0.0
                    self._listening()
                    self._listen(conn)
            except psycopg.Error as error:
                if not failing:
                    log.warning(
                        "not listening for change notifications (%s): retrying; "
                        "change streams poll the log meanwhile",
                        error,
                    )
                    failing = True
                if self._stopping.wait(delay):
                    return
                delay = min(max(delay * 2, _BACKOFF_FIRST_SECONDS), _BACKOFF_MAX_SECONDS)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stopping.is_set():
            # stop_after=1: return after the first packet, with every
            # notification in it, rather than wait out the timeout.
            batch = conn.notifies(timeout=_STOP_CHECK_SECONDS, stop_after=1)
            tenant_ids = frozenset(int(n.payload) for n in batch if n.payload.isdigit())
            if tenant_ids:
                self._heard(tenant_ids)


def _connect_args(engine: sa.Engine) -> dict[str, Any]:
    """psycopg.connect arguments for the engine's database, as the engine
    itself connects (the dialect's own translation of the URL), plus the
    listener's: autocommit, its name in pg_stat_activity, and _DEFAULTS
    where the URL sets none."""
    _, params = engine.dialect.create_connect_args(engine.url)
    params.pop("context", None)  # SQLAlchemy's type adapters, not a connection setting
    return {**_DEFAULTS, **params, "autocommit": True, "application_name": APPLICATION_NAME}
