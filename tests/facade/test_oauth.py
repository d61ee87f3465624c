"""POST /oauth/token: the OAuth 2.0 client credentials grant (RFC 6749
§4.4) in front of identity.v1's TokenService; the tokens it issues are
accepted on every SCIM route like a tenant's long-lived token."""

import base64
from collections.abc import Callable

import httpx2
import pytest
from fastapi.testclient import TestClient

from identity_service.domain.models import TenantState
from identity_service.service.tenants import OPERATOR, Credentials, Tenants
from identity_service.store.engine import Database
from tests.helpers import TenantAccess

TOKEN = "/oauth/token"
USERS = "/scim/v2/Users"
FORM = "application/x-www-form-urlencoded"
Client = tuple[str, str]


@pytest.fixture
def facade(bare_facade: TestClient) -> TestClient:
    return bare_facade


@pytest.fixture
def client(db: Database, tenant: TenantAccess) -> Client:
    """A "scim" credential of the tenant: its id and secret, the OAuth client's."""
    credential, secret = Credentials(db).create(OPERATOR, tenant.slug, scopes=("scim",))
    return credential.id, secret


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def post(facade: TestClient, form: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    sent = {"Content-Type": FORM, **(headers or {})}
    return facade.post(TOKEN, content=form.encode(), headers=sent)


def assert_oauth_error(response: httpx2.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


# Each way a client authenticates (RFC 6749 §2.3.1): (client) -> (form, headers).
Authenticated = Callable[[Client], tuple[str, dict[str, str]]]
WAYS: dict[str, Authenticated] = {
    "HTTP Basic": lambda c: ("grant_type=client_credentials", {"Authorization": basic(*c)}),
    "request body": lambda c: (
        f"grant_type=client_credentials&client_id={c[0]}&client_secret={c[1]}",
        {},
    ),
    "HTTP Basic, form with a charset": lambda c: (
        "grant_type=client_credentials",
        {"Authorization": basic(*c), "Content-Type": f"{FORM}; charset=UTF-8"},
    ),
}


@pytest.mark.parametrize("way", WAYS.values(), ids=WAYS.keys())
def test_a_client_gets_a_bearer_token_that_the_scim_routes_accept(
    facade: TestClient, client: Client, way: Authenticated
) -> None:
    """RFC 6749 §5.1: access_token, token_type Bearer, expires_in, Cache-Control no-store."""
    form, headers = way(client)
    response = post(facade, form, headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 3600
    assert body["scope"] == "scim"
    listed = facade.get(USERS, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert listed.status_code == 200, listed.text


def test_a_token_with_a_narrower_scope_reads_but_does_not_write(
    facade: TestClient, client: Client
) -> None:
    """RFC 6749 §3.3: scope "read" gives a token that lists users and may not create one."""
    response = post(
        facade, "grant_type=client_credentials&scope=read", {"Authorization": basic(*client)}
    )
    assert response.json()["scope"] == "read"
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert facade.get(USERS, headers=headers).status_code == 200
    created = facade.post(USERS, json={"userName": "nope"}, headers=headers)
    assert created.status_code == 403


# (form, headers from the client) -> the §5.2 error; the client is real and valid.
Bad = tuple[str, Callable[[Client], dict[str, str]], int, str]
BAD_REQUESTS: dict[str, Bad] = {
    "no grant_type": ("", lambda c: {"Authorization": basic(*c)}, 400, "invalid_request"),
    "another grant_type": (
        "grant_type=password&username=a&password=b",
        lambda c: {"Authorization": basic(*c)},
        400,
        "unsupported_grant_type",
    ),
    "a repeated parameter": (
        "grant_type=client_credentials&grant_type=client_credentials",
        lambda c: {"Authorization": basic(*c)},
        400,
        "invalid_request",
    ),
    "JSON instead of a form": (
        '{"grant_type": "client_credentials"}',
        lambda c: {"Authorization": basic(*c), "Content-Type": "application/json"},
        400,
        "invalid_request",
    ),
    "two ways of authenticating": (
        "grant_type=client_credentials&client_id=x&client_secret=y",
        lambda c: {"Authorization": basic(*c)},
        400,
        "invalid_request",
    ),
    "a scope the client lacks": (
        "grant_type=client_credentials&scope=admin",
        lambda c: {"Authorization": basic(*c)},
        400,
        "invalid_scope",
    ),
    "no client authentication": (
        "grant_type=client_credentials",
        lambda c: {},
        401,
        "invalid_client",
    ),
    "a wrong secret": (
        "grant_type=client_credentials",
        lambda c: {"Authorization": basic(c[0], c[1][:-1])},
        401,
        "invalid_client",
    ),
    "another client's id": (
        "grant_type=client_credentials",
        lambda c: {"Authorization": basic("0" * 32, c[1])},
        401,
        "invalid_client",
    ),
    "a secret that is not ASCII": (
        "grant_type=client_credentials",
        lambda c: {"Authorization": basic(c[0], "rst_é")},
        401,
        "invalid_client",
    ),
    "a secret too long to forward": (
        "grant_type=client_credentials",
        lambda c: {"Authorization": basic(c[0], "rst_" + "A" * 8000)},
        401,
        "invalid_client",
    ),
    "Basic that is not base64": (
        "grant_type=client_credentials",
        lambda c: {"Authorization": "Basic ***"},
        401,
        "invalid_client",
    ),
    "Basic without a colon": (
        "grant_type=client_credentials",
        lambda c: {"Authorization": "Basic " + base64.b64encode(c[1].encode()).decode()},
        401,
        "invalid_client",
    ),
    "a bearer token instead of client authentication": (
        "grant_type=client_credentials",
        lambda c: {"Authorization": f"Bearer {c[1]}"},
        401,
        "invalid_client",
    ),
}


@pytest.mark.parametrize(
    ("form", "headers", "status", "error"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys()
)
def test_a_bad_token_request_gets_an_oauth_error(
    facade: TestClient,
    client: Client,
    form: str,
    headers: Callable[[Client], dict[str, str]],
    status: int,
    error: str,
) -> None:
    """RFC 6749 §5.2: a JSON error code, 400, or 401 for invalid_client; never a token."""
    response = post(facade, form, headers(client))
    assert_oauth_error(response, status, error)
    assert "access_token" not in response.json()


def test_invalid_client_names_basic_in_www_authenticate(facade: TestClient, client: Client) -> None:
    """RFC 6749 §5.2: a 401 invalid_client carries WWW-Authenticate with the Basic scheme."""
    response = post(facade, "grant_type=client_credentials", {"Authorization": basic("x", "y")})
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic ")


def test_a_revoked_client_gets_no_token_and_its_tokens_stop_working(
    db: Database, facade: TestClient, tenant: TenantAccess, client: Client
) -> None:
    """Revoking the client (its credential) ends what it was issued, at once."""
    token = post(facade, "grant_type=client_credentials", {"Authorization": basic(*client)})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert facade.get(USERS, headers=headers).status_code == 200
    Credentials(db).revoke(OPERATOR, tenant.slug, client[0])
    again = post(facade, "grant_type=client_credentials", {"Authorization": basic(*client)})
    assert_oauth_error(again, 401, "invalid_client")
    refused = facade.get(USERS, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["status"] == "401"
    assert refused.headers["www-authenticate"].startswith("Bearer")


def test_a_suspended_tenants_client_is_unauthorized(
    db: Database, facade: TestClient, tenant: TenantAccess, client: Client
) -> None:
    """RFC 6749 §5.2 unauthorized_client while the tenant is suspended; a token once resumed."""
    Tenants(db).set_state(OPERATOR, tenant.slug, TenantState.SUSPENDED)
    response = post(facade, "grant_type=client_credentials", {"Authorization": basic(*client)})
    assert_oauth_error(response, 400, "unauthorized_client")
    Tenants(db).set_state(OPERATOR, tenant.slug, TenantState.ACTIVE)
    response = post(facade, "grant_type=client_credentials", {"Authorization": basic(*client)})
    assert response.status_code == 200
