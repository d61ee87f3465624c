"""TLS and mutual TLS on identity_service's listener, with certificates the
tests make."""

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from identity_service import server
from identity_service.settings import Settings
from identity_service.store.engine import Database
from tests.tls import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _check_health(settings: Settings, db: Database, credentials: grpc.ChannelCredentials) -> int:
    """Start a server with `settings`, call Health.Check over a secure channel
    with `credentials`, stop; returns the status, or raises the RPC error."""

    async def scenario() -> int:
        running = await server.start(settings, db)
        try:
            async with grpc.aio.secure_channel(f"127.0.0.1:{running.port}", credentials) as ch:
                stub = health_pb2_grpc.HealthStub(ch)
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
                return int(reply.status)
        finally:
            await server.stop(running, 0)

    return asyncio.run(scenario())


def _settings(database_url: str, pki: Pki, *, mutual: bool) -> Settings:
    return Settings(
        database_url=database_url,
        listen="127.0.0.1:0",
        tls_cert_file=pki.server_cert,
        tls_key_file=pki.server_key,
        tls_client_ca_file=pki.ca if mutual else None,
    )


def _client(pki: Pki, *, with_certificate: bool) -> grpc.ChannelCredentials:
    if not with_certificate:
        return grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
    return grpc.ssl_channel_credentials(
        root_certificates=pki.ca.read_bytes(),
        private_key=pki.client_key.read_bytes(),
        certificate_chain=pki.client_cert.read_bytes(),
    )


def test_a_client_that_trusts_the_ca_reaches_a_tls_server(
    db: Database, database_url: str, pki: Pki
) -> None:
    """With a certificate and key configured, the listener speaks TLS."""
    status = _check_health(
        _settings(database_url, pki, mutual=False), db, _client(pki, with_certificate=False)
    )
    assert status == health_pb2.HealthCheckResponse.SERVING


def test_mutual_tls_admits_a_client_with_a_certificate_of_the_ca(
    db: Database, database_url: str, pki: Pki
) -> None:
    """With a client CA configured, a client certificate signed by it is accepted."""
    status = _check_health(
        _settings(database_url, pki, mutual=True), db, _client(pki, with_certificate=True)
    )
    assert status == health_pb2.HealthCheckResponse.SERVING


def test_mutual_tls_refuses_a_client_without_a_certificate(
    db: Database, database_url: str, pki: Pki
) -> None:
    """With a client CA configured, the handshake fails without a client certificate."""
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        _check_health(
            _settings(database_url, pki, mutual=True), db, _client(pki, with_certificate=False)
        )
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_server_certificate_from_another_ca_is_refused(
    db: Database, database_url: str, pki: Pki, tmp_path: Path
) -> None:
    """A client that does not trust the server's CA does not connect."""
    stranger = make_pki(tmp_path)
    credentials = grpc.ssl_channel_credentials(root_certificates=stranger.ca.read_bytes())
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        _check_health(_settings(database_url, pki, mutual=False), db, credentials)
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
