"""The grpc.aio server: identity.v1 services, health checking, reflection, and
a graceful shutdown (health NOT_SERVING, drain, stop) on SIGTERM or SIGINT."""

import asyncio
import logging
import signal
from collections.abc import Iterable
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

# health.aio.HealthServicer, imported from where it lives: grpc-stubs does
# not describe the asyncio servicer.
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from identity_service import servicers
from identity_service.service.access import Access
from identity_service.service.feed import Feed
from identity_service.service.watch import Watch
from identity_service.settings import Settings
from identity_service.store import migrate
from identity_service.store.engine import Database

log = logging.getLogger(__name__)


class ListenError(Exception):
    """The listen address cannot be bound (in use, or not an address of this host)."""


class NotMigrated(Exception):
    """The database is not at the newest migration."""


@dataclass(frozen=True)
class Running:
    """A started server, the port it is bound to, its health servicer, and
    the feed that wakes its change streams."""

    server: grpc.aio.Server
    port: int
    health: HealthServicer
    services: tuple[str, ...]
    feed: Feed


async def start(settings: Settings, db: Database) -> Running:
    """Build, bind and start the server. Every service is SERVING once this
    returns; with port 0 in `settings.listen`, `Running.port` is the real one."""
    server = grpc.aio.server(
        interceptors=servicers.interceptors(Access(db)),
        # Without this grpc sets SO_REUSEPORT, and a second instance on the
        # same port would silently share its traffic instead of failing.
        options=[("grpc.so_reuseport", 0)],
    )
    feed = Feed(db, poll_seconds=settings.watch_poll_seconds)
    watch = Watch(db, feed, checkpoint_seconds=settings.watch_checkpoint_seconds)
    services = (
        *servicers.add_to_server(server, db, watch),
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    health_servicer = await _add_health(server, services)
    reflection.enable_server_reflection(services, server)
    port = _bind(server, settings)
    feed.open()
    await server.start()
    return Running(server, port, health_servicer, services, feed)


async def stop(running: Running, grace: float | None) -> None:
    """Report NOT_SERVING for every service, refuse new calls, and give the
    calls in flight up to `grace` seconds before cancelling them. Change
    streams never end by themselves: closing the feed ends each with a last
    checkpoint and UNAVAILABLE at once, so clients resume on another
    replica and the grace period is not spent waiting for them."""
    await running.health.enter_graceful_shutdown()
    await running.feed.close()
    await running.server.stop(grace)


def run(settings: Settings) -> None:
    """Serve in the foreground until SIGTERM or SIGINT. The database must be
    migrated already (`identity-service migrate`)."""
    asyncio.run(_serve(settings))


async def _serve(settings: Settings) -> None:
    stopping = _stop_on_signals(asyncio.get_running_loop())
    db = Database.from_url(settings.database_url)
    try:
        if not migrate.is_current(db.engine):
            raise NotMigrated("the database is not migrated: run `identity-service migrate` first")
        running = await start(settings, db)
        log.info(
            "identity_service listening on %s:%d (%s)", settings.host, running.port, _mode(settings)
        )
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


async def _add_health(server: grpc.aio.Server, services: Iterable[str]) -> HealthServicer:
    """grpc.health.v1: the server as a whole ("") and each service by name.
    Health needs no credential (the auth interceptor lets it through)."""
    servicer = HealthServicer()
    for name in (health.OVERALL_HEALTH, *services):
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
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
