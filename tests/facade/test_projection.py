"""`attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): the
Projection rules on their own, then on every kind of answer of /Users."""

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scim_facade.projection import Projection

BASE = "/scim/v2"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER: dict[str, Any] = {
    "schemas": [CORE, ENTERPRISE],
    "id": "2819c223",
    "userName": "bjensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [
        {"value": "bjensen@example.com", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "password": "t1meMa$heen",
    ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
    "meta": {"resourceType": "User", "version": 'W/"1"'},
}


def _shown(attributes: str | None = None, excluded: str | None = None) -> dict[str, Any]:
    return Projection.of(attributes, excluded).apply(copy.deepcopy(USER))


@pytest.mark.parametrize("name", ["userName", "USERNAME", f"{CORE}:userName", f"{CORE}:username"])
def test_attributes_keeps_the_named_ones_and_id_and_schemas(name: str) -> None:
    """Names are case-insensitive and may carry their schema URN (RFC 7644 §3.4.2.5)."""
    assert _shown(name) == {"schemas": [CORE, ENTERPRISE], "id": "2819c223", "userName": "bjensen"}


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ("name.givenName", {"name": {"givenName": "Barbara"}}),
        ("NAME.GIVENNAME,name.familyName", {"name": USER["name"]}),
        (
            "emails.value",
            {"emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]},
        ),
        ("emails.type", {"emails": [{"type": "home"}]}),
        (
            "emails.type,emails.value",
            {"emails": [{"value": "bjensen@example.com"}, USER["emails"][1]]},
        ),
        ("emails,emails.value", {"emails": USER["emails"]}),
        ("name.nickName,title", {}),
    ],
)
def test_attributes_takes_sub_attributes_into_the_right_entries(
    attributes: str, expected: dict[str, Any]
) -> None:
    """A sub-attribute keeps each multi-valued entry where it was (RFC 7644 §3.10 paths)."""
    assert _shown(attributes) == {"schemas": USER["schemas"], "id": USER["id"], **expected}


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (f"{ENTERPRISE}:employeeNumber", {"employeeNumber": "701984"}),
        (f"{ENTERPRISE.upper()}:MANAGER.VALUE", {"manager": {"value": "26118915"}}),
        (ENTERPRISE, USER[ENTERPRISE]),
    ],
)
def test_attributes_reaches_into_the_enterprise_extension_by_urn(
    attributes: str, expected: dict[str, Any]
) -> None:
    """Extension attributes are named with their schema URN (RFC 7644 §3.10)."""
    assert _shown(attributes)[ENTERPRISE] == expected


@pytest.mark.parametrize(
    ("excluded", "gone", "kept"),
    [
        ("emails", "emails", "name"),
        ("Name.GivenName", ("name", "givenName"), ("name", "familyName")),
        (f"{CORE}:name", "name", "emails"),
        (f"{ENTERPRISE}:employeeNumber", (ENTERPRISE, "employeeNumber"), (ENTERPRISE, "manager")),
        ("meta", "meta", "userName"),
    ],
)
def test_excluded_attributes_drops_the_named_ones(
    excluded: str, gone: str | tuple[str, str], kept: str | tuple[str, str]
) -> None:
    """excludedAttributes removes attributes and sub-attributes (RFC 7644 §3.4.2.5)."""
    shown = _shown(excluded=excluded)

    def find(path: str | tuple[str, str]) -> bool:
        if isinstance(path, str):
            return path in shown
        return path[1] in shown.get(path[0], {})

    assert not find(gone)
    assert find(kept)


def test_excluded_attributes_drops_what_it_leaves_empty() -> None:
    """No empty complex values are left behind (RFC 7643 §2.5: unassigned is absent)."""
    shown = _shown(excluded=f"emails.value,emails.primary,{ENTERPRISE}:manager.value")
    assert shown["emails"] == [{"type": "home"}]
    assert shown[ENTERPRISE] == {"employeeNumber": "701984"}


@pytest.mark.parametrize("excluded", ["id", "schemas", "ID,Schemas", f"{CORE}:id"])
def test_id_and_schemas_cannot_be_excluded(excluded: str) -> None:
    """id is returned "always" (RFC 7643 §3.1), and so are the schemas."""
    shown = _shown(excluded=excluded)
    assert shown["id"] == USER["id"]
    assert shown["schemas"] == USER["schemas"]


@pytest.mark.parametrize(
    ("attributes", "excluded"),
    [(None, None), ("password,userName", None), (None, "userName"), ("PASSWORD", None)],
)
def test_the_password_is_never_shown(attributes: str | None, excluded: str | None) -> None:
    """password is returned "never" (RFC 7643 §4.1.1), not even when asked for."""
    assert "password" not in _shown(attributes, excluded)


def test_a_search_request_gives_its_names_as_lists() -> None:
    """A SearchRequest carries attributes as a list of strings (RFC 7644 §3.4.3)."""
    shown = Projection.of(["userName", "name.givenName"], None).apply(copy.deepcopy(USER))
    assert set(shown) == {"schemas", "id", "userName", "name"}


def test_unknown_names_are_ignored() -> None:
    """A name the resource does not have selects nothing and fails nothing."""
    assert _shown("nothing,userName.sub") == {"schemas": USER["schemas"], "id": USER["id"]}
    assert _shown(excluded="nothing,userName.sub") == {
        k: v for k, v in USER.items() if k != "password"
    }


@pytest.mark.parametrize(
    ("attributes", "excluded", "includes"),
    [
        (None, None, True),
        (None, "members", False),
        (None, "MEMBERS", False),
        (None, f"{GROUP}:members", False),
        (None, "members.display", True),
        ("members.value", None, True),
        ("displayName", None, False),
        (f"{GROUP}:Members", None, True),
    ],
)
def test_includes_tells_whether_members_must_be_fetched(
    attributes: str | None, excluded: str | None, includes: bool
) -> None:
    """excludedAttributes=members lets the group route skip reading members (issue 3)."""
    assert Projection.of(attributes, excluded).includes("members") is includes


@pytest.mark.parametrize(("name", "includes"), [("id", True), ("password", False)])
def test_includes_follows_the_returned_characteristic(name: str, includes: bool) -> None:
    """always is always included, never never (RFC 7643 §7 "returned")."""
    assert Projection.of("userName", "id").includes(name) is includes


def _created(scim: TestClient, query: str = "") -> Any:
    user = {k: v for k, v in USER.items() if k not in ("id", "meta")}
    response = scim.post(f"{BASE}/Users{query}", json=user)
    assert response.status_code == 201, response.text
    return response


def test_attributes_apply_to_a_created_user(scim: TestClient) -> None:
    """POST answers with the projection the query asks for (RFC 7644 §3.9)."""
    body = _created(scim, "?attributes=userName,emails.value").json()
    assert set(body) == {"schemas", "id", "userName", "emails"}
    assert body["emails"] == [{"value": e["value"]} for e in USER["emails"]]


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH"])
def test_excluded_attributes_apply_to_read_and_write_answers(scim: TestClient, method: str) -> None:
    """GET, PUT and PATCH answer without the excluded attributes (RFC 7644 §3.9)."""
    user = _created(scim).json()
    url = f"{BASE}/Users/{user['id']}?excludedAttributes=emails,{ENTERPRISE}:manager"
    if method == "GET":
        response = scim.get(url)
    elif method == "PUT":
        response = scim.put(url, json={k: v for k, v in user.items() if k != "meta"})
    else:
        operation = {"op": "replace", "path": "title", "value": "Tour Guide"}
        patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
        response = scim.patch(url, json={**patch, "Operations": [operation]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "emails" not in body
    assert body[ENTERPRISE] == {"employeeNumber": "701984"}
    assert body["userName"] == "bjensen"


def test_attributes_apply_to_every_listed_user(scim: TestClient) -> None:
    """A list answers each resource with the projection (RFC 7644 §3.4.2.5)."""
    _created(scim)
    body = scim.get(f"{BASE}/Users?attributes=name.familyName").json()
    assert body["Resources"] == [
        {
            "schemas": [CORE, ENTERPRISE],
            "id": body["Resources"][0]["id"],
            "name": {"familyName": "Jensen"},
        }
    ]


def test_attributes_of_a_search_request_apply(scim: TestClient) -> None:
    """POST /Users/.search takes attributes from its body (RFC 7644 §3.4.3)."""
    _created(scim)
    search = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["userName", f"{ENTERPRISE}:employeeNumber"],
    }
    body = scim.post(f"{BASE}/Users/.search", json=search).json()
    (user,) = body["Resources"]
    assert set(user) == {"schemas", "id", "userName", ENTERPRISE}
    assert user[ENTERPRISE] == {"employeeNumber": "701984"}
