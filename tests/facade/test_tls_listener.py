"""HTTPS on the facade's own listener (ROSTER_FACADE_TLS_CERT_FILE and
_KEY_FILE, or --tls-cert and --tls-key): a real `scim-facade serve` with
certificates the test makes, in front of the session's identity_service."""

import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from scim_facade.settings import Settings
from tests.helpers import TenantAccess
from tests.processes import STARTUP_SECONDS, environment, free_port
from tests.tls import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("facade-pki"))


def _wait_until_answering(url: str, ca: Path, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            httpx.get(url, verify=ssl.create_default_context(cafile=ca), timeout=2.0)
        except httpx.TransportError:
            time.sleep(0.05)
        else:
            return
    raise AssertionError(f"the facade did not answer over HTTPS:\n{log.read_text()}")


@pytest.fixture(scope="module")
def https_facade(pki: Pki, target: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a facade serving HTTPS with the test CA's server certificate."""
    port = free_port()
    log = tmp_path_factory.mktemp("facade-tls") / "facade.log"
    arguments = ["--listen", f"127.0.0.1:{port}", "--identity-target", target]
    arguments += ["--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "scim_facade", "serve", *arguments],
            env=environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"https://127.0.0.1:{port}"
    try:
        _wait_until_answering(f"{base}/scim/v2/ServiceProviderConfig", pki.ca, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_facade_serves_scim_over_https(
    https_facade: str, pki: Pki, tenant: TenantAccess
) -> None:
    """A client that trusts the CA reaches the tenant's users over TLS (RFC 7644 §7.1: TLS)."""
    with httpx.Client(verify=ssl.create_default_context(cafile=pki.ca)) as client:
        response = client.get(
            f"{https_facade}/scim/v2/Users",
            headers={"Authorization": f"Bearer {tenant.secret}"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 0


def test_the_token_endpoint_is_served_over_https_too(https_facade: str, pki: Pki) -> None:
    """RFC 6749 §3.2: the token endpoint requires TLS; it answers there (an error, no client)."""
    with httpx.Client(verify=ssl.create_default_context(cafile=pki.ca)) as client:
        response = client.post(
            f"{https_facade}/oauth/token",
            content=b"grant_type=client_credentials",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_client_that_does_not_trust_the_certificate_is_refused(https_facade: str) -> None:
    """The listener presents the configured certificate: unknown to the system CAs, it fails."""
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{https_facade}/scim/v2/ServiceProviderConfig", timeout=5.0)


def test_plain_http_gets_no_scim_answer_from_the_https_listener(https_facade: str) -> None:
    """A TLS listener does not answer cleartext HTTP with SCIM."""
    plain = https_facade.replace("https://", "http://")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{plain}/scim/v2/ServiceProviderConfig", timeout=5.0)


def test_a_certificate_without_its_key_is_a_settings_error(pki: Pki) -> None:
    """The certificate and key come together, or the facade does not start."""
    with pytest.raises(ValidationError, match="both a certificate and a key"):
        Settings(tls_cert_file=pki.server_cert)
