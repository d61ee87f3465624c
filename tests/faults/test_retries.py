"""Which calls the facade retries: identity_service answers UNAVAILABLE
(its PostgreSQL database cut off) and its own log, one line per call it
received, shows how often each SCIM request reached it. Reads are retried
(client.py's retry policy: 3 attempts); a write reaches it once, since a
retried write could apply twice."""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scim_facade.app import create_app
from scim_facade.settings import Settings
from tests.faults.support import Identity, Stored, assert_unavailable, stored
from tests.postgres import Postgres, Reachability
from tests.processes import Processes

pytestmark = pytest.mark.timeout(120)
BASE = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SOME_ID = "0b7f3c1e-0000-4000-8000-000000000000"
READ_ATTEMPTS = 3
_MARKER = "GroupService/ListGroups"
_RENAME = {"op": "replace", "path": "displayName", "value": "renamed"}


@pytest.fixture(scope="module")
def data(postgres: Postgres) -> Iterator[Stored]:
    served = stored(postgres.database())
    yield served
    served.database.dispose()


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory, data: Stored) -> Iterator[Identity]:
    """identity_service whose readiness is checked once an hour, so it stays
    in the facade's rotation and receives the calls while its database is
    cut off."""
    processes = Processes(tmp_path_factory.mktemp("retries"))
    served = Identity(processes, data.url, ROSTER_HEALTH_CHECK_SECONDS="3600")
    served.start()
    yield served
    processes.kill_all()


def _received(log: Path, method: str) -> int:
    """How many calls of `method` identity_service logged."""
    return len(re.findall(rf"rpc method=/identity\.v1\.{method} ", log.read_text()))


def _received_so_far(identity: Identity, facade: TestClient, method: str) -> int:
    """How many `method` calls identity_service logged, once a marker call
    (ListGroups, answered OK) shows that every earlier line is written."""
    markers = _received(identity.log, _MARKER)
    assert facade.get(f"{BASE}/Groups").status_code == 200
    while _received(identity.log, _MARKER) == markers:
        time.sleep(0.05)
    return _received(identity.log, method)


@pytest.mark.parametrize(
    ("method", "path", "body", "rpc", "attempts"),
    [
        ("GET", f"/Users/{SOME_ID}", None, "UserService/GetUser", READ_ATTEMPTS),
        ("GET", "/Users", None, "UserService/ListUsers", READ_ATTEMPTS),
        ("GET", f"/Groups/{SOME_ID}", None, "GroupService/ListMembers", READ_ATTEMPTS),
        ("POST", "/Users", {"schemas": [USER], "userName": "u"}, "UserService/CreateUser", 1),
        (
            "PUT",
            f"/Users/{SOME_ID}",
            {"schemas": [USER], "userName": "u"},
            "UserService/UpdateUser",
            1,
        ),
        (
            "POST",
            "/Groups",
            {"schemas": [GROUP], "displayName": "g"},
            "GroupService/CreateGroup",
            1,
        ),
        (
            "PATCH",
            f"/Groups/{SOME_ID}",
            {"schemas": [PATCH], "Operations": [_RENAME]},
            "GroupService/ModifyGroup",
            1,
        ),
        ("DELETE", f"/Users/{SOME_ID}", None, "UserService/DeleteUser", 1),
    ],
)
def test_reads_are_retried_on_unavailable_and_writes_are_sent_once(
    identity: Identity,
    data: Stored,
    postgres: Postgres,
    method: str,
    path: str,
    body: object,
    rpc: str,
    attempts: int,
) -> None:
    """A read is idempotent and retried; a write that reached
    identity_service is not, since it may have applied: the IdP gets 503
    (RFC 7644 §3.12) and decides."""
    settings = Settings(identity_target=identity.target)
    database = Reachability(postgres, data.url)
    with TestClient(create_app(settings), base_url="http://scim.test") as facade:
        facade.headers.update({"Authorization": f"Bearer {data.tenant.secret}"})
        before = _received_so_far(identity, facade, rpc)
        database.cut()
        try:
            response = facade.request(method, f"{BASE}{path}", json=body)
        finally:
            database.restore()
        assert_unavailable(response)
        assert _received_so_far(identity, facade, rpc) - before == attempts
