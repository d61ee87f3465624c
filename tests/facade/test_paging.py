"""Paging and sorting on GET /Users: startIndex/count (RFC 7644 §3.4.2.4),
cursors (RFC 9865), sortBy/sortOrder (RFC 7644 §3.4.2.3), attributes."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import TenantAccess

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# The test app advertises (and caps count at) 200: tests/facade/conftest.py.
MAX_RESULTS = 200
WALK_ORDERS: list[dict[str, str]] = [
    {},
    {"sortBy": "displayName"},
    {"sortBy": "userName", "sortOrder": "descending"},
    {"sortBy": "meta.created", "sortOrder": "descending"},
]


def _create(scim: TestClient, user_name: str, **attributes: Any) -> str:
    response = scim.post(
        "/scim/v2/Users", json={"schemas": [CORE], "userName": user_name, **attributes}
    )
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


def _list(scim: TestClient, **params: Any) -> dict[str, Any]:
    response = scim.get("/scim/v2/Users", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["itemsPerPage"] == len(body["Resources"])
    return body


def _error(scim: TestClient, **params: Any) -> dict[str, Any]:
    response = scim.get("/scim/v2/Users", params=params)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "400"
    return body


@pytest.fixture
def team(scim: TestClient) -> list[str]:
    """25 users; displayNames repeat, so sorting by it needs the tie-break."""
    return [_create(scim, f"user-{i:02d}", displayName=f"Team {'AB'[i % 2]}") for i in range(25)]


@pytest.mark.parametrize("count", [1, 7, 10, 25])
@pytest.mark.parametrize("order", WALK_ORDERS)
def test_a_walk_by_startIndex_sees_every_user_once(
    scim: TestClient, team: list[str], count: int, order: dict[str, str]
) -> None:
    """Consecutive startIndex pages neither repeat nor skip a user (RFC 7644 §3.4.2.4)."""
    seen: list[str] = []
    start = 1
    while start <= len(team):
        page = _list(scim, startIndex=start, count=count, **order)
        assert page["totalResults"] == 25
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == min(count, 26 - start)
        assert "nextCursor" not in page
        seen += [resource["id"] for resource in page["Resources"]]
        start += page["itemsPerPage"]
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == set(team)


@pytest.mark.parametrize("count", [1, 7, 25])
@pytest.mark.parametrize("order", WALK_ORDERS)
def test_a_walk_by_cursor_sees_every_user_once(
    scim: TestClient, team: list[str], count: int, order: dict[str, str]
) -> None:
    """An empty cursor starts, nextCursor continues, the last page has none (RFC 9865 §2)."""
    seen: list[str] = []
    cursor: str | None = ""
    pages = 0
    while cursor is not None:
        page = _list(scim, cursor=cursor, count=count, **order)
        assert page["totalResults"] == 25
        assert "startIndex" not in page
        seen += [resource["id"] for resource in page["Resources"]]
        cursor = page.get("nextCursor")
        pages += 1
    assert pages == -(-25 // count)
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == set(team)


def test_startIndex_and_cursor_walks_agree_on_the_order(scim: TestClient, team: list[str]) -> None:
    """Both methods page over one stable order (RFC 9865 §2.2)."""
    by_index = _list(scim, startIndex=1, count=25, sortBy="displayName")["Resources"]
    first = _list(scim, cursor="", count=10, sortBy="displayName")
    second = _list(scim, cursor=first["nextCursor"], count=10, sortBy="displayName")
    cursor_ids = [r["id"] for r in first["Resources"] + second["Resources"]]
    assert cursor_ids == [r["id"] for r in by_index][:20]


@pytest.mark.parametrize("mode", [{"startIndex": 3}, {"cursor": ""}])
@pytest.mark.parametrize("count", [0, -1, -50])
def test_count_zero_or_negative_returns_only_totalResults(
    scim: TestClient, team: list[str], mode: dict[str, Any], count: int
) -> None:
    """count=0 answers totalResults alone; negative reads as 0 (RFC 7644 §3.4.2.4, RFC 9865 §2)."""
    page = _list(scim, count=count, **mode)
    assert page["totalResults"] == 25
    assert page["itemsPerPage"] == 0
    assert page["Resources"] == []
    assert "nextCursor" not in page


def test_count_is_capped_at_the_advertised_maximum(scim: TestClient) -> None:
    """A larger count, or none, answers at most maxResults (RFC 7644 §3.4.2.4, RFC 9865 §4)."""
    for i in range(MAX_RESULTS + 1):
        _create(scim, f"many-{i:03d}")
    for params in ({"count": 10_000}, {}):
        page = _list(scim, **params)
        assert (page["totalResults"], page["itemsPerPage"]) == (MAX_RESULTS + 1, MAX_RESULTS)
    by_cursor = _list(scim, cursor="", count=10_000)
    assert by_cursor["itemsPerPage"] == MAX_RESULTS
    rest = _list(scim, cursor=by_cursor["nextCursor"], count=10_000)
    assert rest["itemsPerPage"] == 1
    assert "nextCursor" not in rest


@pytest.mark.parametrize("start", [0, -1, -100])
def test_startIndex_below_1_means_1(scim: TestClient, team: list[str], start: int) -> None:
    """A startIndex below 1 is read as 1 (RFC 7644 §3.4.2.4)."""
    page = _list(scim, startIndex=start, count=5)
    assert page["startIndex"] == 1
    assert page["Resources"] == _list(scim, startIndex=1, count=5)["Resources"]


@pytest.mark.parametrize("start", [26, 1000, 2**40])
def test_startIndex_past_the_end_is_an_empty_page_with_the_total(
    scim: TestClient, team: list[str], start: int
) -> None:
    """Past the last result: no resources, the right totalResults (RFC 7644 §3.4.2.4)."""
    page = _list(scim, startIndex=start, count=5)
    assert (page["totalResults"], page["startIndex"], page["Resources"]) == (25, start, [])


def test_an_empty_count_or_startIndex_is_no_value(scim: TestClient, team: list[str]) -> None:
    """`count=&startIndex=` is read as absent: the first page at the default size."""
    page = _list(scim, count="", startIndex="")
    assert (page["startIndex"], page["itemsPerPage"]) == (1, 25)


@pytest.mark.parametrize("count", ["abc", "1.5", "ten", "0x10"])
def test_a_count_that_is_not_an_integer_is_400_invalidCount(scim: TestClient, count: str) -> None:
    """count is an integer (RFC 7644 §3.4.2.4); invalidCount is RFC 9865 §2.1's error."""
    assert _error(scim, count=count)["scimType"] == "invalidCount"


@pytest.mark.parametrize("start", ["abc", "1.5", "first"])
def test_a_startIndex_that_is_not_an_integer_is_400_invalidValue(
    scim: TestClient, start: str
) -> None:
    """startIndex is a 1-based integer (RFC 7644 §3.4.2.4)."""
    assert _error(scim, startIndex=start)["scimType"] == "invalidValue"


@pytest.mark.parametrize("cursor", ["notacursor", "a b", "a+b", "añb", "e30", "Zm9v"])
def test_a_cursor_the_server_did_not_issue_is_400_invalidCursor(
    scim: TestClient, team: list[str], cursor: str
) -> None:
    """Malformed or forged cursors: 400 invalidCursor (RFC 9865 §2.1, §5.2)."""
    assert _error(scim, cursor=cursor, count=5)["scimType"] == "invalidCursor"


def test_a_cursor_continues_only_the_query_that_issued_it(
    scim: TestClient, team: list[str]
) -> None:
    """Later pages repeat the query; a changed filter or order is invalidCursor (RFC 9865 §2)."""
    cursor = _list(scim, cursor="", count=5)["nextCursor"]
    for changed in ({"filter": "userName pr"}, {"sortBy": "userName"}):
        assert _error(scim, cursor=cursor, count=5, **changed)["scimType"] == "invalidCursor"


def test_a_cursor_of_another_tenant_is_invalidCursor(
    scim: TestClient, team: list[str], other_tenant: TenantAccess
) -> None:
    """A cursor grants nothing to another caller (RFC 9865 §5.2)."""
    cursor = _list(scim, cursor="", count=5)["nextCursor"]
    response = scim.get(
        "/scim/v2/Users",
        params={"cursor": cursor, "count": 5},
        headers={"Authorization": f"Bearer {other_tenant.secret}"},
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidCursor"


def test_startIndex_with_cursor_is_400_invalidValue(scim: TestClient, team: list[str]) -> None:
    """startIndex and cursor name two pagination methods at once (RFC 9865 §2.4)."""
    assert _error(scim, cursor="", startIndex=1)["scimType"] == "invalidValue"


@pytest.fixture
def trio(scim: TestClient) -> dict[str, str]:
    """Three users whose userName order depends on case, created in this order."""
    return {
        name: _create(scim, name, displayName=display, externalId=external)
        for name, display, external in (
            ("carol", "Zed", "B-2"),
            ("alice", "young", "a-1"),
            ("Bob", "Xavier", "C-3"),
        )
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sortBy": "userName"}, ["alice", "Bob", "carol"]),
        ({"sortBy": "userName", "sortOrder": "ascending"}, ["alice", "Bob", "carol"]),
        ({"sortBy": "userName", "sortOrder": "descending"}, ["carol", "Bob", "alice"]),
        ({"sortBy": "USERNAME", "sortOrder": "DESCENDING"}, ["carol", "Bob", "alice"]),
        ({"sortBy": f"{CORE}:userName"}, ["alice", "Bob", "carol"]),
        ({"sortBy": "displayName"}, ["Bob", "alice", "carol"]),
        ({"sortBy": "displayName", "sortOrder": "descending"}, ["carol", "alice", "Bob"]),
        ({"sortBy": "externalId"}, ["carol", "Bob", "alice"]),
        ({"sortBy": "meta.created"}, ["carol", "alice", "Bob"]),
        ({"sortBy": "meta.created", "sortOrder": "descending"}, ["Bob", "alice", "carol"]),
        ({"sortBy": "meta.lastModified"}, ["carol", "alice", "Bob"]),
    ],
)
def test_sortBy_orders_both_ways(
    scim: TestClient, trio: dict[str, str], params: dict[str, str], expected: list[str]
) -> None:
    """Strings sort by their caseExact rule, ascending by default (RFC 7644 §3.4.2.3)."""
    assert [r["userName"] for r in _list(scim, **params)["Resources"]] == expected


def test_sortOrder_without_sortBy_is_ignored(scim: TestClient, trio: dict[str, str]) -> None:
    """sortOrder only says how sortBy applies (RFC 7644 §3.4.2.3)."""
    assert _list(scim, sortOrder="descending")["totalResults"] == 3


@pytest.mark.parametrize(
    "params",
    [
        {"sortBy": "title"},
        {"sortBy": "name.familyName"},
        {"sortBy": "emails"},
        {"sortBy": "shoeSize"},
        {"sortBy": "userName", "sortOrder": "sideways"},
        {"sortOrder": "up"},
    ],
)
def test_an_order_the_server_cannot_give_is_400_invalidValue(
    scim: TestClient, params: dict[str, str]
) -> None:
    """sortBy on anything but identity.v1's sortable attributes is refused (RFC 7644 §3.4.2.3)."""
    assert _error(scim, **params)["scimType"] == "invalidValue"


@pytest.mark.parametrize(("order", "position"), [("ascending", -1), ("descending", 0)])
def test_users_without_the_sortBy_value_come_last_ascending_first_descending(
    scim: TestClient, trio: dict[str, str], order: str, position: int
) -> None:
    """No data for sortBy: last if ascending, first if descending (RFC 7644 §3.4.2.3)."""
    _create(scim, "nameless")
    page = _list(scim, sortBy="displayName", sortOrder=order)
    assert page["Resources"][position]["userName"] == "nameless"


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"attributes": "userName"}, {"schemas", "id", "userName"}),
        ({"attributes": "USERNAME,displayName"}, {"schemas", "id", "userName", "displayName"}),
        (
            {"excludedAttributes": "displayName,externalId,meta"},
            {"schemas", "id", "userName", "active"},
        ),
    ],
)
def test_attributes_and_excludedAttributes_apply_to_every_listed_user(
    scim: TestClient, trio: dict[str, str], params: dict[str, str], keys: set[str]
) -> None:
    """The projection applies to each resource of a ListResponse (RFC 7644 §3.4.2.5)."""
    resources = _list(scim, **params)["Resources"]
    assert len(resources) == 3
    assert all(set(resource) == keys for resource in resources)
