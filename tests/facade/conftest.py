"""The facade over HTTP (Starlette's TestClient) in front of the session's
real identity_service; a fresh tenant per test."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from scim_facade.app import create_app
from scim_facade.settings import Settings
from tests.helpers import TenantAccess

SCIM_JSON = "application/scim+json"


@pytest.fixture(scope="session")
def facade_app_settings(target: str) -> Settings:
    return Settings(identity_target=target, max_results=200)


@pytest.fixture(scope="session")
def facade(facade_app_settings: Settings) -> Iterator[TestClient]:
    """The facade app, started once (its lifespan opens the gRPC channel)."""
    with TestClient(create_app(facade_app_settings), base_url="http://scim.test") as client:
        yield client


@pytest.fixture
def scim(facade: TestClient, tenant: TenantAccess) -> TestClient:
    """The facade as the tenant's IdP calls it: its bearer token, SCIM JSON."""
    facade.headers.update({"Authorization": f"Bearer {tenant.secret}", "Content-Type": SCIM_JSON})
    return facade


@pytest.fixture(scope="module")
def bare_facade(facade_app_settings: Settings) -> Iterator[TestClient]:
    """A facade app of the test module's own: no headers that the `scim`
    fixture set on the session's for other tests ride along."""
    with TestClient(create_app(facade_app_settings), base_url="http://scim.test") as client:
        yield client
