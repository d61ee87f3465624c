"""Credentials at the facade: every refused credential is a 401 with a SCIM
error and WWW-Authenticate (RFC 7644 §2, RFC 6750 §3), a suspended tenant a
403, and a tenant rotates its token without a failed call."""

import time
from collections.abc import Callable
from datetime import timedelta

import httpx2
import pytest
from fastapi.testclient import TestClient

from identity_service.domain.models import TenantState, now
from identity_service.service.tenants import OPERATOR, Credentials, Tenants
from identity_service.store.engine import Database
from tests.helpers import TenantAccess

USERS = "/scim/v2/Users"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def http(bare_facade: TestClient) -> TestClient:
    return bare_facade


def get_users(http: TestClient, token: str | bytes) -> httpx2.Response:
    """GET /Users with the token as it is (bytes may hold what a str header cannot)."""
    raw = token if isinstance(token, bytes) else token.encode()
    return http.get(USERS, headers=[(b"authorization", b"Bearer " + raw)])


def access_token(http: TestClient, client_id: str, secret: str) -> str:
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    answer = http.post(
        "/oauth/token",
        content=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def revoked(db: Database, http: TestClient, tenant: TenantAccess) -> str:
    credential, secret = Credentials(db).create(OPERATOR, tenant.slug, scopes=("scim",))
    assert get_users(http, secret).status_code == 200
    Credentials(db).revoke(OPERATOR, tenant.slug, credential.id)
    return secret


def expired(db: Database, http: TestClient, tenant: TenantAccess) -> str:
    expire_time = now() + timedelta(seconds=0.5)
    _, secret = Credentials(db).create(
        OPERATOR, tenant.slug, scopes=("scim",), expire_time=expire_time
    )
    assert get_users(http, secret).status_code == 200
    time.sleep(max((expire_time - now()).total_seconds(), 0) + 0.01)  # the clock must pass it
    return secret


def revoked_clients_token(db: Database, http: TestClient, tenant: TenantAccess) -> str:
    credential, secret = Credentials(db).create(OPERATOR, tenant.slug, scopes=("scim",))
    token = access_token(http, credential.id, secret)
    assert get_users(http, token).status_code == 200
    Credentials(db).revoke(OPERATOR, tenant.slug, credential.id)
    return token


# Each refused bearer token: (db, facade, tenant) -> the token (bytes: sent as they are).
Refused = Callable[[Database, TestClient, TenantAccess], str | bytes]
REFUSED: dict[str, Refused] = {
    "revoked credential": revoked,
    "expired credential": expired,
    "access token of a revoked client": revoked_clients_token,
    "unknown access token": lambda db, http, t: "rat_" + "A" * 43,
    "truncated access token": lambda db, http, t: access_token(http, *_client(db, t))[:-1],
    "token with a non-ASCII byte": lambda db, http, t: t.secret.encode() + "é".encode(),
    "token with a tab inside": lambda db, http, t: t.secret[:10] + "\t" + t.secret[10:],
    "very long token": lambda db, http, t: "rst_" + "A" * 8000,
}


def _client(db: Database, tenant: TenantAccess) -> tuple[str, str]:
    credential, secret = Credentials(db).create(OPERATOR, tenant.slug, scopes=("scim",))
    return credential.id, secret


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_token_is_401_with_a_scim_error_and_www_authenticate(
    db: Database, http: TestClient, tenant: TenantAccess, case: Refused
) -> None:
    """RFC 7644 §3.12 and RFC 6750 §3: 401, a SCIM Error body, WWW-Authenticate: Bearer."""
    response = get_users(http, case(db, http, tenant))
    assert response.status_code == 401, response.text
    assert response.json()["schemas"] == [ERROR]
    assert response.json()["status"] == "401"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("kind", ["long-lived token", "access token"])
def test_a_suspended_tenants_tokens_are_403_until_it_is_resumed(
    db: Database, http: TestClient, tenant: TenantAccess, kind: str
) -> None:
    """A suspended tenant is authenticated but may do nothing: 403 with a SCIM error, then 200."""
    token = (
        tenant.secret if kind == "long-lived token" else access_token(http, *_client(db, tenant))
    )
    Tenants(db).set_state(OPERATOR, tenant.slug, TenantState.SUSPENDED)
    response = get_users(http, token)
    assert response.status_code == 403, response.text
    assert response.json()["schemas"] == [ERROR]
    Tenants(db).set_state(OPERATOR, tenant.slug, TenantState.ACTIVE)
    assert get_users(http, token).status_code == 200


def test_a_tenant_rotates_its_token_without_a_failed_call(
    db: Database, http: TestClient, tenant: TenantAccess
) -> None:
    """Two valid tokens during the switch; once the old one is revoked it fails, the new works."""
    old_id = Credentials(db).list(OPERATOR, tenant.slug, page_size=10, page_token="").items[0].id
    statuses = [get_users(http, tenant.secret).status_code]
    _, new_secret = Credentials(db).create(OPERATOR, tenant.slug, scopes=("scim",))
    statuses += [get_users(http, token).status_code for token in (tenant.secret, new_secret)]
    Credentials(db).revoke(OPERATOR, tenant.slug, old_id)
    statuses.append(get_users(http, new_secret).status_code)
    assert statuses == [200, 200, 200, 200]
    assert get_users(http, tenant.secret).status_code == 401
    assert get_users(http, new_secret).status_code == 200


def test_an_oauth_client_rotates_its_secret_without_a_failed_call(
    db: Database, http: TestClient, tenant: TenantAccess
) -> None:
    """A second client for the switch: tokens of both work; revoking the old ends only its own."""
    old, new = _client(db, tenant), _client(db, tenant)
    old_token = access_token(http, *old)
    new_token = access_token(http, *new)
    statuses = [get_users(http, token).status_code for token in (old_token, new_token)]
    Credentials(db).revoke(OPERATOR, tenant.slug, old[0])
    statuses.append(get_users(http, new_token).status_code)
    statuses.append(get_users(http, access_token(http, *new)).status_code)
    assert statuses == [200, 200, 200, 200]
    assert get_users(http, old_token).status_code == 401
