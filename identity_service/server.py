"""The grpc.aio server: identity.v1 services, health checking (readiness
follows the database), reflection, connection age and keepalive limits,
Prometheus metrics on a listener of their own when configured, and a
graceful shutdown (health NOT_SERVING, drain, stop) on SIGTERM or SIGINT."""

import asyncio
import gc
import logging
import signal
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import grpc
import sqlalchemy as sa
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

# health.aio.HealthServicer, imported from where it lives: grpc-stubs does
# not describe the asyncio servicer.
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from identity_service import servicers
from identity_service.domain.errors import StorageUnavailable
from identity_service.service.access import Access
from identity_service.service.feed import Feed
from identity_service.service.tokens import Tokens
from identity_service.service.watch import Watch
from identity_service.servicers.metrics import REGISTRY
from identity_service.settings import Settings
from identity_service.store import migrate
from identity_service.store.engine import Database
from roster_telemetry.exposition import Exposition

log = logging.getLogger(__name__)

# A health entry that stays SERVING while the process answers, whatever the
# database does: the liveness probe's. Readiness is "" (or a service name).
LIVENESS = "liveness"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
_KEEPALIVE_TIMEOUT_MS = 20_000
# Clients may ping idle connections this often (gRPC-Go and grpc-java raise
# shorter keepalive times to it anyway); more often ends the connection
# with GOAWAY too_many_pings.
_MIN_CLIENT_PING_INTERVAL_MS = 10_000


class ListenError(Exception):
    """The listen address cannot be bound (in use, or not an address of this host)."""


class NotMigrated(Exception):
    """The database is not at the newest migration."""


@dataclass(frozen=True)
class Running:
    """A started server, the port it is bound to, its health servicer, the
    feed that wakes its change streams, the readiness checker, the lanes
    its calls run in, and its metrics listener (None: not configured)."""

    server: grpc.aio.Server
    port: int
    health: HealthServicer
    services: tuple[str, ...]
    feed: Feed
    readiness: "Readiness"
    access: Access
    lanes: servicers.Lanes
    metrics: Exposition | None = None


class Readiness:
    """Reports every service NOT_SERVING while the database does not answer a
    trivial query, and SERVING again once it does; one check every
    `interval` seconds, each given `timeout` seconds. Closed before the
    graceful shutdown, which then reports NOT_SERVING for good."""

    def __init__(
        self,
        db: Database,
        health: HealthServicer,
        names: Iterable[str],
        *,
        interval: float,
        timeout: float,
    ) -> None:
        self._db = db
        self._health = health
        self._names = tuple(names)
        self._interval = interval
        self._timeout = timeout
        self._checker: asyncio.Task[None] | None = None
        # The query in a thread of its own: the shared worker threads may all
        # be busy with long reads, which must not make the server look down.
        # A thread cannot be cancelled, so a hung query is waited for, never
        # doubled.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness")
        self._query: asyncio.Future[None] | None = None
        self.ready = True

    def open(self) -> None:
        """Start checking. Call it on the server's event loop."""
        self._checker = asyncio.get_running_loop().create_task(self._check_forever())
        self._checker.add_done_callback(_stopped)

    async def close(self) -> None:
        """Stop checking; the statuses stay as they are."""
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.wait([self._checker])
        self._thread.shutdown(wait=False)

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            problem = await self._problem()
            if (problem is None) != self.ready:
                await self._report(problem)

    async def _problem(self) -> str | None:
        """None when the database answered; else why it did not."""
        if self._query is None or self._query.done():
            loop = asyncio.get_running_loop()
            self._query = loop.run_in_executor(self._thread, self._select_one)
            self._query.add_done_callback(_retrieve)
        # asyncio.wait, not wait_for: on Python 3.11 wait_for swallows a
        # cancellation that arrives as the query finishes, and close() would
        # then wait for a checker that never ends.
        await asyncio.wait([self._query], timeout=self._timeout)
        if not self._query.done():
            return f"no answer within {self._timeout:g}s"
        exc = self._query.exception()
        if isinstance(exc, (StorageUnavailable, sa.exc.SQLAlchemyError)):
            return str(exc.__cause__ or exc).splitlines()[0]
        if exc is not None:
            raise exc
        return None

    def _select_one(self) -> None:
        with self._db.read() as conn:
            conn.execute(sa.text("SELECT 1"))

    async def _report(self, problem: str | None) -> None:
        self.ready = problem is None
        if problem is None:
            log.info("the database answers again: reporting SERVING")
        else:
            log.error("the database does not answer (%s): reporting NOT_SERVING", problem)
        for name in self._names:
            await self._health.set(name, SERVING if self.ready else NOT_SERVING)


def _stopped(checker: "asyncio.Task[None]") -> None:
    # Only close() should end the checks; a bug that ends them is loud.
    if not checker.cancelled() and (error := checker.exception()) is not None:
        log.error("readiness checks stopped: health no longer follows the database", exc_info=error)


def _retrieve(query: "asyncio.Future[None]") -> None:
    # A query that outlived its timeout fails unobserved; its failure was
    # reported as the timeout already.
    if not query.cancelled():
        query.exception()


async def start(settings: Settings, db: Database) -> Running:
    """Build, bind and start the server. Every service is SERVING once this
    returns; with port 0 in `settings.listen`, `Running.port` is the real one."""
    access = Access(db, remember_seconds=settings.auth_cache_seconds)
    server = grpc.aio.server(
        interceptors=servicers.interceptors(access, rate_limiter(settings)),
        options=server_options(settings),
    )
    feed = Feed(db, poll_seconds=settings.watch_poll_seconds)
    watch = Watch(db, feed, checkpoint_seconds=settings.watch_checkpoint_seconds)
    lanes = servicers.Lanes(db)
    services = (
        *servicers.add_to_server(server, db, watch, lanes, _tokens(db, settings)),
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    health_servicer = await _add_health(server, services)
    readiness = Readiness(
        db,
        health_servicer,
        (health.OVERALL_HEALTH, *services),
        interval=settings.health_check_seconds,
        timeout=settings.health_check_timeout_seconds,
    )
    reflection.enable_server_reflection(services, server)
    port = _bind(server, settings)
    metrics = _expose(settings.metrics_listen) if settings.metrics_listen else None
    feed.open()
    await server.start()
    readiness.open()
    return Running(server, port, health_servicer, services, feed, readiness, access, lanes, metrics)


def _tokens(db: Database, settings: Settings) -> Tokens:
    return Tokens(db, lifetime=timedelta(seconds=settings.access_token_seconds))


async def stop(running: Running, grace: float | None) -> None:
    """Report NOT_SERVING for every service, refuse new calls, and give the
    calls in flight up to `grace` seconds before cancelling them. Change
    streams never end by themselves: closing the feed ends each with a last
    checkpoint and UNAVAILABLE at once, so clients resume on another
    replica and the grace period is not spent waiting for them. Readiness
    checks stop first, so none reports SERVING again."""
    await running.readiness.close()
    await running.health.enter_graceful_shutdown()
    await running.feed.close()
    await running.server.stop(grace)
    running.lanes.close()
    running.access.close()
    if running.metrics is not None:
        running.metrics.close()


def run(settings: Settings) -> None:
    """Serve in the foreground until SIGTERM or SIGINT. The database must be
    migrated already (`identity-service migrate`). The event loop is uvloop,
    as under the facade's uvicorn: grpc.aio's own work per call took about a
    tenth less CPU on it than on asyncio's loop (docs/decisions/0021)."""
    uvloop.run(_serve(settings))


async def _serve(settings: Settings) -> None:
    stopping = _stop_on_signals(asyncio.get_running_loop())
    db = Database.from_url(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    try:
        schema = migrate.schema_state(db.engine)
        if schema == migrate.SchemaState.BEHIND:
            raise NotMigrated("the database is not migrated: run `identity-service migrate` first")
        if schema == migrate.SchemaState.AHEAD:
            log.warning(
                "the database is at a newer migration than this release knows: "
                "serving on the expanded schema (a rolling upgrade in progress?)"
            )
        running = await start(settings, db)
        # What start-up built (modules, schemas, compiled statements) lives as
        # long as the process: out of the collector's sight, a full
        # collection walks only what serving allocates, and no longer stalls
        # every stream and call for tens of milliseconds (decision 0014).
        gc.collect()
        gc.freeze()
        log.info(
            "identity_service listening on %s:%d (%s)", settings.host, running.port, _mode(settings)
        )
        if running.metrics is not None:
            log.info("metrics at http://%s/metrics", settings.metrics_listen)
        signum = await stopping
        log.info(
            "received %s: draining for up to %gs",
            signal.Signals(signum).name,
            settings.shutdown_grace_seconds,
        )
        await stop(running, settings.shutdown_grace_seconds)
        log.info("identity_service stopped")
    finally:
        db.dispose()


def _stop_on_signals(loop: asyncio.AbstractEventLoop) -> "asyncio.Future[int]":
    """A future that resolves to the first SIGTERM or SIGINT received; later
    signals are ignored while the server drains."""
    stopping: asyncio.Future[int] = loop.create_future()

    def received(signum: int) -> None:
        if not stopping.done():
            stopping.set_result(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, received, signum)
    return stopping


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """The grpc server's channel arguments: connection age, keepalive,
    the largest request."""
    options = [
        ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
        # Without this grpc sets SO_REUSEPORT, and a second instance on the
        # same port would silently share its traffic instead of failing.
        ("grpc.so_reuseport", 0),
        # Ping idle connections (a dead peer's streams are ended, load
        # balancers and NAT keep the connection), and let clients ping too.
        ("grpc.keepalive_time_ms", _ms(settings.keepalive_seconds)),
        ("grpc.keepalive_timeout_ms", _KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.http2.min_ping_interval_without_data_ms", _MIN_CLIENT_PING_INTERVAL_MS),
    ]
    if settings.max_connection_age_seconds > 0:
        options += [
            ("grpc.max_connection_age_ms", _ms(settings.max_connection_age_seconds)),
            ("grpc.max_connection_age_grace_ms", _ms(settings.max_connection_age_grace_seconds)),
        ]
    return options


def rate_limiter(settings: Settings) -> servicers.RateLimiter:
    """Token buckets per tenant and per credential, in this process (decision 0018)."""
    return servicers.RateLimiter(
        servicers.Rate(settings.rate_limit_tenant_per_second, settings.rate_limit_tenant_burst),
        servicers.Rate(
            settings.rate_limit_credential_per_second, settings.rate_limit_credential_burst
        ),
    )


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


async def _add_health(server: grpc.aio.Server, services: Iterable[str]) -> HealthServicer:
    """grpc.health.v1: the server as a whole ("") and each service by name
    (readiness), and LIVENESS. Health needs no credential (the auth
    interceptor lets it through)."""
    servicer = HealthServicer()
    for name in (health.OVERALL_HEALTH, *services, LIVENESS):
        await servicer.set(name, SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return servicer


def _bind(server: grpc.aio.Server, settings: Settings) -> int:
    """Bind `settings.listen`, with TLS when a certificate is configured and
    mutual TLS when a client CA is too. Returns the bound port."""
    try:
        if settings.tls_cert_file is None or settings.tls_key_file is None:
            return server.add_insecure_port(settings.listen)
        return server.add_secure_port(settings.listen, _tls_credentials(settings))
    except RuntimeError as exc:  # grpc's only report of a failed bind
        raise ListenError(f"cannot listen on {settings.listen}") from exc


def _expose(listen: str) -> Exposition:
    """Serve the metrics on `listen` (HOST:PORT)."""
    try:
        return Exposition(listen, REGISTRY)
    except OSError as exc:
        raise ListenError(f"cannot serve metrics on {listen}: {exc.strerror}") from exc


def _mode(settings: Settings) -> str:
    if settings.tls_client_ca_file is not None:
        return "mutual TLS"
    return "TLS" if settings.tls else "plaintext"


def _tls_credentials(settings: Settings) -> grpc.ServerCredentials:
    assert settings.tls_cert_file is not None
    assert settings.tls_key_file is not None
    client_ca = settings.tls_client_ca_file
    return grpc.ssl_server_credentials(
        [(settings.tls_key_file.read_bytes(), settings.tls_cert_file.read_bytes())],
        root_certificates=client_ca.read_bytes() if client_ca else None,
        require_client_auth=client_ca is not None,
    )
