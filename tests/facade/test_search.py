"""POST /Users/.search and POST /.search with a SearchRequest body
(RFC 7644 §3.4.3), end to end through the facade and identity_service."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENDPOINTS = ["/scim/v2/Users/.search", "/scim/v2/.search"]


@pytest.fixture
def staff(scim: TestClient) -> list[str]:
    """Twelve users: staff-00 .. staff-11, titled Engineer or Manager in turn."""
    ids = []
    for i in range(12):
        response = scim.post(
            "/scim/v2/Users",
            json={
                "schemas": [CORE],
                "userName": f"staff-{i:02d}",
                "title": ["Engineer", "Manager"][i % 2],
                "emails": [{"value": f"staff{i}@example.com", "type": "work"}],
            },
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _search(scim: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = scim.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/scim+json"
    answer: dict[str, Any] = response.json()
    assert answer["schemas"] == [LIST]
    return answer


def _names(answer: dict[str, Any]) -> list[str]:
    return [resource["userName"] for resource in answer["Resources"]]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    "query",
    [
        {"filter": 'title eq "manager"'},
        {"filter": 'userName sw "staff-0"', "sortBy": "userName", "sortOrder": "descending"},
        {"sortBy": "userName", "startIndex": 4, "count": 3},
        {"filter": 'emails[type eq "work" and value co "staff1"]', "sortBy": "userName"},
        {"count": 0},
    ],
)
def test_a_search_answers_what_the_same_GET_answers(
    scim: TestClient, staff: list[str], path: str, query: dict[str, Any]
) -> None:
    """POST .search takes the GET query parameters as a body (RFC 7644 §3.4.3)."""
    got = scim.get("/scim/v2/Users", params=query)
    assert got.status_code == 200
    assert _search(scim, path, {"schemas": [SEARCH], **query}) == got.json()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_search_body_filters_sorts_and_pages(scim: TestClient, staff: list[str], path: str) -> None:
    """filter, sortBy, sortOrder, startIndex and count of the body apply (RFC 7644 §3.4.3)."""
    body = {
        "schemas": [SEARCH],
        "filter": 'title eq "Engineer"',
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": 2,
        "count": 2,
    }
    answer = _search(scim, path, body)
    assert (answer["totalResults"], answer["startIndex"], answer["itemsPerPage"]) == (6, 2, 2)
    assert _names(answer) == ["staff-08", "staff-06"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_attributes_and_excludedAttributes_of_the_body_shape_the_resources(
    scim: TestClient, staff: list[str], path: str
) -> None:
    """Projection members of a SearchRequest are JSON arrays (RFC 7644 §3.4.3)."""
    only = _search(scim, path, {"schemas": [SEARCH], "attributes": ["userName", "title"]})
    assert all(set(r) == {"schemas", "id", "userName", "title"} for r in only["Resources"])
    without = _search(scim, path, {"schemas": [SEARCH], "excludedAttributes": ["emails", "meta"]})
    assert all("emails" not in r and "meta" not in r for r in without["Resources"])
    assert all("userName" in r for r in without["Resources"])


@pytest.mark.parametrize("path", ["/scim/v2/Users/.search"])
def test_a_search_pages_by_cursor(scim: TestClient, staff: list[str], path: str) -> None:
    """The body's cursor pages like the query parameter (RFC 9865 §3)."""
    seen: list[str] = []
    body: dict[str, Any] = {"schemas": [SEARCH], "cursor": "", "count": 5, "sortBy": "userName"}
    while True:
        answer = _search(scim, path, body)
        assert "startIndex" not in answer
        seen += _names(answer)
        if "nextCursor" not in answer:
            break
        body["cursor"] = answer["nextCursor"]
    assert seen == [f"staff-{i:02d}" for i in range(12)]


@pytest.mark.parametrize(
    "path", ["/scim/v2/users/.search", "/scim/v2/USERS/.Search/", "/scim/v2/.SEARCH"]
)
def test_search_member_names_and_paths_in_any_case(
    scim: TestClient, staff: list[str], path: str
) -> None:
    """Attribute names are case-insensitive (RFC 7643 §2.1), endpoints too (app.ScimPaths)."""
    answer = _search(scim, path, {"Schemas": [SEARCH], "FILTER": 'userName eq "STAFF-03"'})
    assert _names(answer) == ["staff-03"]


def test_a_search_without_schemas_in_plain_json_is_accepted(
    scim: TestClient, staff: list[str]
) -> None:
    """application/json bodies are accepted (RFC 7644 §3.1); a missing schemas is tolerated."""
    response = scim.post(
        "/scim/v2/Users/.search",
        content=b'{"filter": "userName eq \\"staff-01\\""}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert _names(response.json()) == ["staff-01"]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"filter": "userName eq"}, "invalidFilter"),
        ({"filter": 'shoeSize eq "42"'}, "invalidFilter"),
        ({"filter": 42}, "invalidFilter"),
        ({"count": "many"}, "invalidCount"),
        ({"startIndex": "first"}, "invalidValue"),
        ({"cursor": "a b"}, "invalidCursor"),
        ({"cursor": "notacursor"}, "invalidCursor"),
        ({"cursor": "", "startIndex": 1}, "invalidValue"),
        ({"sortBy": "title"}, "invalidValue"),
        ({"sortBy": "userName", "sortOrder": "sideways"}, "invalidValue"),
        ({"attributes": ["userName"], "excludedAttributes": ["emails"]}, "invalidValue"),
        ({"shoeSize": 42}, "invalidSyntax"),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}, "invalidSyntax"),
    ],
)
def test_an_invalid_search_request_is_400_with_its_scimType(
    scim: TestClient, path: str, body: dict[str, Any], scim_type: str | None
) -> None:
    """Each member is checked (RFC 7644 §3.4.3, §3.12; RFC 9865 §2.1)."""
    response = scim.post(path, json={"schemas": [SEARCH], **body})
    if scim_type is None:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 400, response.text
    answer = response.json()
    assert (answer["schemas"], answer["status"], answer["scimType"]) == ([ERROR], "400", scim_type)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"filter"'])
def test_a_search_body_that_is_not_a_json_object_is_400_invalidSyntax(
    scim: TestClient, path: str, raw: bytes
) -> None:
    """The body must be a SearchRequest object (RFC 7644 §3.4.3, §3.12 invalidSyntax)."""
    response = scim.post(path, content=raw)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


def test_the_root_search_answers_users_then_groups(scim: TestClient) -> None:
    """POST /.search lists every resource type: Users first, then Groups (RFC 7644 §3.4.3)."""
    user = scim.post("/scim/v2/Users", json={"schemas": [CORE], "userName": "zed"})
    group = scim.post("/scim/v2/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "Zeds"})
    assert user.status_code == group.status_code == 201
    response = scim.post("/scim/v2/.search", json={"schemas": [SEARCH], "count": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalResults"] == 2
    assert [r["id"] for r in body["Resources"]] == [user.json()["id"], group.json()["id"]]


def test_a_root_filter_on_an_attribute_of_one_type_matches_only_that_type(
    scim: TestClient,
) -> None:
    """An attribute a type lacks makes the filter false on it (RFC 7644 §3.4.2.1)."""
    scim.post("/scim/v2/Users", json={"schemas": [CORE], "userName": "zed"})
    scim.post("/scim/v2/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "Zeds"})
    response = scim.post(
        "/scim/v2/.search", json={"schemas": [SEARCH], "filter": 'displayName sw "Z"'}
    )
    body = response.json()
    assert body["totalResults"] == 1
    assert body["Resources"][0]["displayName"] == "Zeds"
    users_only = scim.post(
        "/scim/v2/.search", json={"schemas": [SEARCH], "filter": 'userName eq "zed"'}
    )
    assert users_only.json()["totalResults"] == 1
