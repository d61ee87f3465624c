"""Members are read only when the answer shows them, and then page by page:
excludedAttributes=members never calls ListMembers, and a group of 100,000
members is streamed, never held whole (issue 3, Semantics; DESIGN.md, "Group
membership is a delta")."""

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from identity_service.domain.models import now
from identity_service.service.tenants import OPERATOR, Tenants
from identity_service.store.engine import Database, fold
from identity_service.store.schema import GroupRow, MembershipRow, UserRow
from scim_facade.app import create_app
from scim_facade.groups import MEMBER_PAGE
from scim_facade.settings import Settings
from tests.helpers import TenantAccess

LARGE = 100_000
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True)
class Seeded:
    """A fresh tenant's token and its one group of users."""

    token: str
    group_id: str
    member_ids: list[str]


def _table(row: type[Any]) -> sa.Table:
    table: sa.Table = row.__table__
    return table


def _member_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def _padded(number: sa.ColumnElement[int]) -> sa.ColumnElement[str]:
    """SQL: `number` as 12 digits, zero-padded, in SQLite and PostgreSQL alike."""
    return sa.func.substr(sa.cast(number + sa.literal(10**12, sa.BigInteger), sa.String), 2)


def _insert_users(conn: sa.Connection, tenant_id: int, size: int) -> None:
    """`size` users made by the database itself (INSERT ... SELECT over a
    series): a hundred times faster than sending the rows. Their ids sort as
    their numbers; userName "user{i}" is its own case-folded key."""
    users = _table(UserRow)
    series = sa.select(sa.literal(0).label("i")).cte("series", recursive=True)
    series = series.union_all(sa.select(series.c.i + 1).where(series.c.i < size - 1))
    at = sa.literal(now(), users.c.create_time.type)
    user_name = sa.literal("user") + sa.cast(series.c.i, sa.String)
    columns: dict[str, Any] = {
        "tenant_id": sa.literal(tenant_id),
        "id": sa.literal(_member_id(0)[:-12]) + _padded(series.c.i),
        "user_name": user_name,
        "user_name_key": user_name,
        "state": sa.literal("ACTIVE"),
        "attributes": sa.literal({}, users.c.attributes.type),
        "version": sa.literal(1),
        "create_time": at,
        "update_time": at,
    }
    conn.execute(users.insert().from_select(list(columns), sa.select(*columns.values())))


def _seed(db: Database, size: int) -> Seeded:
    """A fresh tenant with a SCIM token and one group of `size` users, written
    in bulk straight into the tables (as tests/test_large_group.py does),
    with the member count they make."""
    tenant, _, secret = Tenants(db).create_with_credential(
        OPERATOR, f"t-{uuid.uuid4().hex[:12]}", "", scopes=("scim",)
    )
    assert tenant.id is not None
    group_id, at = str(uuid.uuid4()), now()
    group = {"tenant_id": tenant.id, "id": group_id, "display_name": "Everyone"}
    group |= {"display_name_key": fold("Everyone"), "member_count": size, "version": 1}
    users, memberships = _table(UserRow), _table(MembershipRow)
    members = sa.select(
        users.c.tenant_id,
        sa.literal(group_id),
        users.c.id,
        sa.literal("USER"),
        sa.literal(at, memberships.c.create_time.type),
    ).where(users.c.tenant_id == tenant.id)
    with db.write() as conn:
        _insert_users(conn, tenant.id, size)
        conn.execute(_table(GroupRow).insert(), group | {"create_time": at, "update_time": at})
        columns = ["tenant_id", "group_id", "member_id", "member_type", "create_time"]
        conn.execute(memberships.insert().from_select(columns, members))
    return Seeded(secret, group_id, [_member_id(i) for i in range(size)])


@pytest.fixture(scope="module")
def everyone(db: Database) -> Seeded:
    return _seed(db, LARGE)


def test_a_group_of_100000_members_is_streamed_page_by_page(
    facade: TestClient, everyone: Seeded
) -> None:
    """GET reads ListMembers MEMBER_PAGE at a time and writes each page as it comes."""
    url = f"/scim/v2/Groups/{everyone.group_id}"
    headers = {"Authorization": f"Bearer {everyone.token}"}
    with facade.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        chunks = list(response.iter_raw())
    whole = b"".join(chunks)
    group = orjson.loads(whole)
    members = group["members"]
    assert len(members) == LARGE
    assert [m["value"] for m in members] == everyone.member_ids
    assert members[-1] == {
        "value": everyone.member_ids[-1],
        "type": "User",
        "$ref": f"http://scim.test/scim/v2/Users/{everyone.member_ids[-1]}",
    }
    assert response.headers["ETag"] == group["meta"]["version"]
    # Streamed: no length known up front, one chunk per page of members.
    assert "content-length" not in response.headers
    assert len(chunks) >= LARGE // MEMBER_PAGE
    assert max(len(chunk) for chunk in chunks) < len(whole) // 5


Rpc = Callable[..., Awaitable[Any]]


class CountingGroups:
    """The facade's GroupService stub, counting the calls of each method: a
    test double of the transport, not of our code."""

    def __init__(self, stub: Any) -> None:
        self._stub = stub
        self.calls: Counter[str] = Counter()

    def __getattr__(self, method: str) -> Rpc:
        rpc: Rpc = getattr(self._stub, method)

        def counted(*args: Any, **kwargs: Any) -> Any:
            # The call object itself, as the stub returns it: the facade
            # awaits it and reads its trailing metadata.
            self.calls[method] += 1
            return rpc(*args, **kwargs)

        return counted


@pytest.fixture(scope="module")
def counting_facade(facade_app_settings: Settings) -> Iterator[tuple[TestClient, CountingGroups]]:
    """A facade of its own, its GroupService calls counted."""
    app = create_app(facade_app_settings)
    with TestClient(app, base_url="http://scim.test") as client:
        counting = CountingGroups(app.state.client.groups)
        app.state.client.groups = counting
        yield client, counting


@pytest.fixture
def counted(
    counting_facade: tuple[TestClient, CountingGroups], tenant: TenantAccess
) -> tuple[TestClient, CountingGroups]:
    client, counting = counting_facade
    client.headers.update({"Authorization": f"Bearer {tenant.secret}"})
    return client, counting


def _created(client: TestClient, url: str, body: dict[str, Any]) -> str:
    response = client.post(url, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _requests(group_id: str, member_id: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every request answered with groups: (method, url, body or {})."""
    url = f"/scim/v2/Groups/{group_id}"
    group = {"schemas": [GROUP], "displayName": "Sales", "members": [{"value": member_id}]}
    add = {"op": "add", "path": "externalId", "value": "x"}
    search = {"schemas": [SEARCH], "filter": 'displayName eq "Sales"'}
    return {
        "GET": ("GET", url, {}),
        "list": ("GET", "/scim/v2/Groups", {}),
        "filter": ("GET", '/scim/v2/Groups?filter=displayName eq "Sales"', {}),
        ".search": ("POST", "/scim/v2/Groups/.search", search),
        "POST": ("POST", "/scim/v2/Groups", group | {"displayName": "New"}),
        "PUT": ("PUT", url, group),
        "PATCH": ("PATCH", url, {"schemas": [PATCH_OP], "Operations": [add]}),
    }


# How a request leaves members out of the answer, or not.
SHOWN = {
    "excludedAttributes": ("excludedAttributes", "members"),
    "attributes": ("attributes", "displayName"),
    "default": None,
}


@pytest.mark.parametrize("name", list(_requests("", "")))
@pytest.mark.parametrize("shown", SHOWN.values(), ids=SHOWN.keys())
def test_members_are_read_only_when_the_answer_shows_them(
    counted: tuple[TestClient, CountingGroups], name: str, shown: tuple[str, str] | None
) -> None:
    """excludedAttributes=members never calls ListMembers (issue 3; RFC 7644 §3.4.2.5)."""
    client, counting = counted
    alice = _created(client, "/scim/v2/Users", {"schemas": [USER], "userName": "alice"})
    group = {"schemas": [GROUP], "displayName": "Sales", "members": [{"value": alice}]}
    method, url, body = _requests(_created(client, "/scim/v2/Groups", group), alice)[name]
    params = {}
    if shown and name == ".search":
        body[shown[0]] = [shown[1]]
    elif shown:
        params[shown[0]] = shown[1]
    counting.calls.clear()
    response = client.request(method, url, json=body or None, params=params)
    assert response.is_success, response.text
    if name == "PATCH" and shown is None:  # 204: no group in the answer at all
        assert (response.status_code, response.content) == (204, b"")
        assert counting.calls["ListMembers"] == 0
        return
    answered = response.json().get("Resources", [response.json()])
    assert answered
    assert all(("members" in group) is (shown is None) for group in answered)
    assert (counting.calls["ListMembers"] > 0) is (shown is None)
