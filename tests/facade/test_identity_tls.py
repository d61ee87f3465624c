"""TLS and mutual TLS between the facade and identity_service, with
certificates the tests make."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from identity_service.store.engine import Database
from scim_facade.app import create_app
from scim_facade.settings import Settings
from tests.conftest import ServerThread
from tests.helpers import TenantAccess
from tests.tls import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def mtls_target(db: Database, database_url: str, pki: Pki) -> Iterator[str]:
    """identity_service requiring client certificates of the test CA."""
    server = ServerThread(
        db,
        database_url,
        tls_cert_file=pki.server_cert,
        tls_key_file=pki.server_key,
        tls_client_ca_file=pki.ca,
    )
    yield f"127.0.0.1:{server.running.port}"
    server.stop()


def _list_users(settings: Settings, tenant: TenantAccess) -> int:
    with TestClient(create_app(settings)) as client:
        response = client.get(
            "/scim/v2/Users", headers={"Authorization": f"Bearer {tenant.secret}"}
        )
        return response.status_code


def test_the_facade_reaches_identity_service_over_mutual_tls(
    mtls_target: str, pki: Pki, tenant: TenantAccess
) -> None:
    """With the CA and a client certificate configured, calls go through."""
    settings = Settings(
        identity_target=mtls_target,
        identity_ca_file=pki.ca,
        identity_client_cert_file=pki.client_cert,
        identity_client_key_file=pki.client_key,
    )
    assert _list_users(settings, tenant) == 200


def test_without_a_client_certificate_the_facade_answers_503(
    mtls_target: str, pki: Pki, tenant: TenantAccess
) -> None:
    """identity_service refuses the handshake; the IdP gets 503, not 500."""
    settings = Settings(
        identity_target=mtls_target, identity_ca_file=pki.ca, identity_timeout_seconds=2
    )
    assert _list_users(settings, tenant) == 503


def test_a_client_certificate_without_a_ca_is_a_settings_error(pki: Pki, tmp_path: Path) -> None:
    """mTLS settings come in whole: a client certificate needs TLS (a CA)."""
    with pytest.raises(ValueError, match="identity_ca_file"):
        Settings(identity_client_cert_file=pki.client_cert, identity_client_key_file=pki.client_key)
