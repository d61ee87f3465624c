"""Two tenants behind the facade for its isolation matrix: tenant B's SCIM
ids, names, etags and cursors, values of the same shapes that exist
nowhere, and B's state as B reads it (DESIGN.md "Tenancy")."""

import importlib
import json
import pkgutil
import uuid
from dataclasses import dataclass, fields
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx2 import Response
from identity.v1 import change_service_pb2, change_service_pb2_grpc

from tests.helpers import Metadata
from tests.isolation import shaped_token

BASE = "/scim/v2"
SCIM_JSON = "application/scim+json"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Keys whose values name the caller's own new resources in a success.
_OWN = {"id", "meta", "location", "version"}
_HEADERS = ("content-type", "etag", "location", "www-authenticate", "retry-after")


@dataclass(frozen=True)
class Values:
    """What an IdP of tenant B knows of B's resources."""

    user: str
    deleted_user: str
    group: str
    user_name: str
    external_id: str
    email: str
    group_name: str
    user_etag: str
    group_etag: str
    users_cursor: str
    groups_cursor: str

    @staticmethod
    def missing() -> "Values":
        """Values of the same shapes that exist nowhere."""
        word = uuid.uuid4().hex
        return Values(
            user=str(uuid.uuid4()),
            deleted_user=str(uuid.uuid4()),
            group=str(uuid.uuid4()),
            user_name=f"nobody-{word}",
            external_id=f"ext-{word}",
            email=f"{word}@nowhere.test",
            group_name=f"no group {word}",
            user_etag='W/"987654"',
            group_etag='W/"987653"',
            users_cursor=shaped_token({"q": uuid.uuid4().hex[:24], "k": ["x", 1]}),
            groups_cursor=shaped_token({"q": uuid.uuid4().hex[:24], "k": ["x", 1]}),
        )

    def scrub(self, text: str) -> str:
        """`text` with each value (but the etags, which every tenant's
        resources share) replaced by its field's name."""
        values = {
            getattr(self, f.name): f"<{f.name}>" for f in fields(self) if "etag" not in f.name
        }
        for value in sorted(values, key=len, reverse=True):
            text = text.replace(value, values[value])
        return text


class Tenant:
    """One tenant's IdP at the facade: its bearer token on every request."""

    def __init__(self, facade: TestClient, secret: str) -> None:
        self._facade = facade
        self._headers = {"Authorization": f"Bearer {secret}", "Content-Type": SCIM_JSON}

    def call(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> Response:
        return self._facade.request(
            method,
            BASE + path,
            content=None if body is None else json.dumps(body),
            headers={**self._headers, **(headers or {})},
        )

    def ok(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        response = self.call(method, path, body)
        assert response.status_code < 300, response.text
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer


def _drop_own(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_own(v) for k, v in value.items() if k not in _OWN}
    if isinstance(value, list):
        return [_drop_own(v) for v in value]
    return value


def outcome(response: Response, values: Values) -> tuple[int, str, str]:
    """(status, scrubbed body, scrubbed headers). A success carries the
    caller's own new ids, which differ from call to call: they are dropped."""
    body: Any = response.json() if response.content else None
    if response.status_code < 300:
        body = _drop_own(body)
    headers = {h: response.headers.get(h) for h in _HEADERS}
    if response.status_code < 300:
        headers = {h: str(v is not None) for h, v in headers.items()}
    return (
        response.status_code,
        values.scrub(json.dumps(body, sort_keys=True)),
        values.scrub(json.dumps(headers, sort_keys=True)),
    )


def populate(b: Tenant) -> Values:
    """B's live and deleted users, two groups, and a first page of each list."""
    user = b.ok(
        "POST",
        "/Users",
        {
            "schemas": [CORE_USER],
            "userName": "bjensen",
            "externalId": "ext-bjensen",
            "emails": [{"value": "bjensen@b.example", "type": "work"}],
        },
    )
    b.ok("POST", "/Users", {"schemas": [CORE_USER], "userName": "jsmith"})
    gone = b.ok("POST", "/Users", {"schemas": [CORE_USER], "userName": "gone"})
    b.ok("DELETE", f"/Users/{gone['id']}")
    members = [{"value": user["id"]}]
    group = b.ok(
        "POST", "/Groups", {"schemas": [CORE_GROUP], "displayName": "Outer", "members": members}
    )
    b.ok("POST", "/Groups", {"schemas": [CORE_GROUP], "displayName": "Inner"})
    return Values(
        user=user["id"],
        deleted_user=gone["id"],
        group=group["id"],
        user_name="bjensen",
        external_id="ext-bjensen",
        email="bjensen@b.example",
        group_name="Outer",
        user_etag=user["meta"]["version"],
        group_etag=group["meta"]["version"],
        users_cursor=b.ok("GET", "/Users?cursor=&count=1")["nextCursor"],
        groups_cursor=b.ok("GET", "/Groups?cursor=&count=1")["nextCursor"],
    )


def snapshot(
    b: Tenant,
    changes: change_service_pb2_grpc.ChangeServiceStub,
    parent: str,
    watcher: Metadata,
) -> tuple[object, ...]:
    """B's users and groups with their members as B's IdP reads them, and
    B's change log."""
    users = b.ok("GET", "/Users?count=200")
    groups = b.ok("GET", "/Groups?count=200")
    each = [b.ok("GET", f"/Groups/{g['id']}") for g in groups["Resources"]]
    log = changes.ListChanges(
        change_service_pb2.ListChangesRequest(parent=parent, page_size=1000), metadata=watcher
    )
    return users, groups, each, log


def every_route() -> set[tuple[str, str]]:
    """(method, path) of every route of the facade's SCIM route modules,
    without the base path: a new module or route shows up here by itself.
    (The OAuth token endpoint and the health probes are no SCIM routes and
    take no bearer token: tests/facade/test_oauth.py, test_health.py.)"""
    package = importlib.import_module("scim_facade.routes")
    found: set[tuple[str, str]] = set()
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in ("oauth", "health"):
            continue
        router = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "router", None)
        if isinstance(router, APIRouter):
            for route in router.routes:
                if isinstance(route, APIRoute):
                    found |= {(method, route.path) for method in route.methods or ()}
    return found
