"""/Groups end to end (RFC 7644 §3.3-§3.6, §3.14): facade over HTTP, real
identity_service, real SQLite; PATCH is in test_group_patch.py."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.helpers import TenantAccess

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Microsoft's schema URN on Entra's groups (its SCIM tutorial), unknown here.
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
MISSING = "00000000-0000-4000-8000-000000000000"


def _user(scim: TestClient, user_name: str) -> str:
    response = scim.post("/scim/v2/Users", json={"schemas": [USER], "userName": user_name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _group(scim: TestClient, name: str, *member_ids: str, **attributes: Any) -> dict[str, Any]:
    members = [{"value": member_id} for member_id in member_ids]
    body = {"schemas": [GROUP], "displayName": name, "members": members, **attributes}
    response = scim.post("/scim/v2/Groups", json=body)
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()
    return group


def _member_ids(resource: dict[str, Any]) -> set[str]:
    return {member["value"] for member in resource.get("members", [])}


def _get(scim: TestClient, group_id: str, **params: str) -> dict[str, Any]:
    response = scim.get(f"/scim/v2/Groups/{group_id}", params=params)
    assert response.status_code == 200, response.text
    group: dict[str, Any] = response.json()
    return group


def test_a_created_group_reads_back_with_its_members_meta_and_etag(scim: TestClient) -> None:
    """POST answers 201 with Location, ETag and members; GET reads the same (RFC 7644 §3.3)."""
    alice = _user(scim, "alice")
    response = scim.post(
        "/scim/v2/Groups",
        json={"schemas": [GROUP], "displayName": "Sales", "members": [{"value": alice}]},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == body["meta"]["location"]
    assert response.headers["ETag"] == body["meta"]["version"]
    assert body["members"] == [
        {"value": alice, "type": "User", "$ref": f"http://scim.test/scim/v2/Users/{alice}"}
    ]
    assert _get(scim, body["id"]) == body


def test_entra_creates_a_group_as_its_tutorial_shows(scim: TestClient) -> None:
    """Entra's POST carries Microsoft's ADSCIM schema URN and read-only meta:
    both ignored (issue 3, the dialects IdPs really send; RFC 7643 §3.1)."""
    body = {
        "schemas": [GROUP, ADSCIM],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }
    response = scim.post("/scim/v2/Groups", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["schemas"] == [GROUP]
    assert (created["displayName"], created["externalId"]) == ("displayName", body["externalId"])
    assert "members" not in created


def test_attribute_names_are_read_in_any_case(scim: TestClient) -> None:
    """Attribute names are case-insensitive (RFC 7643 §2.1), members' too."""
    alice = _user(scim, "alice")
    body = {
        "schemas": [GROUP],
        "DisplayName": "Sales",
        "Members": [{"Value": alice, "TYPE": "user"}],
    }
    response = scim.post("/scim/v2/Groups", json=body)
    assert response.status_code == 201, response.text
    assert (response.json()["displayName"], _member_ids(response.json())) == ("Sales", {alice})


def test_a_group_can_be_a_member_of_a_group(scim: TestClient) -> None:
    """members.type tells users from groups (RFC 7643 §4.2), typed or not in the request."""
    inner = _group(scim, "Inner")
    outer = _group(scim, "Outer", inner["id"])
    assert [(m["value"], m["type"]) for m in outer["members"]] == [(inner["id"], "Group")]


@pytest.mark.parametrize("how", ["POST", "PUT", "PATCH"])
def test_displayName_is_unique_case_insensitively(scim: TestClient, how: str) -> None:
    """ "Sales" and "sales" collide, however the second is named: 409 uniqueness (RFC 7644 §3.3)."""
    _group(scim, "Sales")
    body = {"schemas": [GROUP], "displayName": "sales"}
    if how == "POST":
        response = scim.post("/scim/v2/Groups", json=body)
    elif how == "PUT":
        response = scim.put(f"/scim/v2/Groups/{_group(scim, 'Other')['id']}", json=body)
    else:
        operation = {"op": "replace", "path": "displayName", "value": "SALES"}
        patch = {"schemas": [PATCH_OP], "Operations": [operation]}
        response = scim.patch(f"/scim/v2/Groups/{_group(scim, 'Other')['id']}", json=patch)
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


@pytest.mark.parametrize("how", ["POST", "PUT"])
def test_a_member_that_does_not_exist_is_400_invalidValue(scim: TestClient, how: str) -> None:
    """A member id that names no user or group of the tenant is refused (RFC 7644 §3.12)."""
    body = {"schemas": [GROUP], "displayName": "Sales", "members": [{"value": MISSING}]}
    if how == "POST":
        response = scim.post("/scim/v2/Groups", json=body)
    else:
        group = _group(scim, "Sales", _user(scim, "alice"))
        response = scim.put(f"/scim/v2/Groups/{group['id']}", json=body)
        assert _get(scim, group["id"]) == group
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


@pytest.mark.parametrize(
    "member", [{"display": "no value"}, {"value": 7}, {"value": ""}, {"value": "a/b"}, "an id"]
)
def test_a_member_entry_without_an_id_is_400_invalidValue(scim: TestClient, member: Any) -> None:
    """members.value is the member's id (RFC 7643 §4.2)."""
    body = {"schemas": [GROUP], "displayName": "Sales", "members": [member]}
    response = scim.post("/scim/v2/Groups", json=body)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def _call(scim: TestClient, method: str, group_id: str, **headers: str) -> Response:
    body: dict[str, Any] = {"schemas": [GROUP], "displayName": "Renamed"}
    if method == "PATCH":
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "externalId", "value": "x"}],
        }
    content = None if method in ("GET", "DELETE") else body
    return scim.request(method, f"/scim/v2/Groups/{group_id}", json=content, headers=headers)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_missing_group_is_404_for_every_method(scim: TestClient, method: str) -> None:
    """A group that does not exist is 404 with a SCIM error (RFC 7644 §3.12)."""
    response = _call(scim, method, MISSING)
    assert response.status_code == 404
    assert response.json()["status"] == "404"


def test_a_group_of_another_tenant_is_404(scim: TestClient, other_tenant: TenantAccess) -> None:
    """The token decides the tenant; another tenant's group does not exist (DESIGN.md)."""
    group = _group(scim, "Sales")
    other = {"Authorization": f"Bearer {other_tenant.secret}"}
    assert scim.get(f"/scim/v2/Groups/{group['id']}", headers=other).status_code == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_deleted_group_is_404_everywhere_and_its_name_free(scim: TestClient, method: str) -> None:
    """DELETE answers 204; afterwards every method is 404 (RFC 7644 §3.6)."""
    group = _group(scim, "Sales", _user(scim, "alice"))
    deleted = scim.delete(f"/scim/v2/Groups/{group['id']}")
    assert deleted.status_code == 204
    assert not deleted.content
    assert _call(scim, method, group["id"]).status_code == 404
    assert scim.get("/scim/v2/Groups").json()["totalResults"] == 0
    _group(scim, "Sales")


def test_a_deleted_user_leaves_its_groups(scim: TestClient) -> None:
    """Deleting a user removes it from the members of every group (RFC 7644 §3.6)."""
    alice, bob = _user(scim, "alice"), _user(scim, "bob")
    group = _group(scim, "Sales", alice, bob)
    assert scim.delete(f"/scim/v2/Users/{alice}").status_code == 204
    assert _member_ids(_get(scim, group["id"])) == {bob}
    found = scim.get("/scim/v2/Groups", params={"filter": f'members[value eq "{alice}"]'})
    assert found.json()["totalResults"] == 0


def test_put_replaces_the_name_the_externalId_and_the_members(scim: TestClient) -> None:
    """PUT is a full replacement (RFC 7644 §3.5.1): Okta sends the whole group;
    read-only id and meta in it are ignored."""
    alice, bob, carol = _user(scim, "alice"), _user(scim, "bob"), _user(scim, "carol")
    group = _group(scim, "Sales", alice, bob, externalId="ext-1")
    body = {
        "schemas": [GROUP],
        "id": group["id"],
        "meta": {"resourceType": "Group"},
        "displayName": "Sales EMEA",
        "members": [{"value": bob, "display": "bob"}, {"value": carol, "type": "User"}],
    }
    response = scim.put(f"/scim/v2/Groups/{group['id']}", json=body)
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced == _get(scim, group["id"])
    assert replaced["displayName"] == "Sales EMEA"
    assert "externalId" not in replaced
    assert _member_ids(replaced) == {bob, carol}
    assert response.headers["ETag"] == replaced["meta"]["version"] != group["meta"]["version"]


@pytest.mark.parametrize("members", [[], None], ids=["empty", "left-out"])
def test_put_without_members_empties_the_group(scim: TestClient, members: Any) -> None:
    """What a PUT leaves out or empties is cleared (RFC 7644 §3.5.1, RFC 7643 §2.5)."""
    group = _group(scim, "Sales", _user(scim, "alice"))
    body: dict[str, Any] = {"schemas": [GROUP], "displayName": "Sales"}
    if members is not None:
        body["members"] = members
    response = scim.put(f"/scim/v2/Groups/{group['id']}", json=body)
    assert response.status_code == 200
    assert "members" not in response.json()
    assert "members" not in _get(scim, group["id"])


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_stale_if_match_is_412_and_changes_nothing(scim: TestClient, method: str) -> None:
    """If-Match that is not the current version fails with 412 (RFC 7644 §3.14)."""
    group = _group(scim, "Sales")
    stale = group["meta"]["version"]
    _call(scim, "PATCH", group["id"])
    current = _get(scim, group["id"])
    response = _call(scim, method, group["id"], **{"If-Match": stale})
    assert response.status_code == 412
    assert response.json()["status"] == "412"
    assert _get(scim, group["id"]) == current


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("header", ["current", "*"])
def test_the_current_if_match_lets_the_change_through(
    scim: TestClient, method: str, header: str
) -> None:
    """If-Match naming the current version, or "*", is met (RFC 7644 §3.14)."""
    group = _group(scim, "Sales")
    sent = header.replace("current", group["meta"]["version"])
    assert _call(scim, method, group["id"], **{"If-Match": sent}).is_success


@pytest.mark.parametrize(
    ("header", "status"),
    [("current", 304), ("*", 304), ('"0", current', 304), ('W/"0"', 200)],
)
def test_if_none_match_on_get_is_304_for_the_current_version(
    scim: TestClient, header: str, status: int
) -> None:
    """GET with If-None-Match naming the current version answers 304 (RFC 7644 §3.14)."""
    group = _group(scim, "Sales")
    version = group["meta"]["version"]
    sent = header.replace("current", version)
    response = scim.get(f"/scim/v2/Groups/{group['id']}", headers={"If-None-Match": sent})
    assert response.status_code == status
    assert response.headers["ETag"] == version


@pytest.fixture
def sales(scim: TestClient) -> dict[str, Any]:
    """Three groups: Sales (alice, bob), Support (bob), Empty; Sales returned."""
    alice, bob = _user(scim, "alice"), _user(scim, "bob")
    group = _group(scim, "Sales", alice, bob, externalId="ext-sales")
    _group(scim, "Support", bob)
    _group(scim, "Empty")
    return group


def _list(scim: TestClient, **params: Any) -> dict[str, Any]:
    response = scim.get("/scim/v2/Groups", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _names(page: dict[str, Any]) -> list[str]:
    return [group["displayName"] for group in page["Resources"]]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('displayName eq "sales"', ["Sales"]),
        ('displayName sw "S"', ["Sales", "Support"]),
        ('externalId eq "ext-sales"', ["Sales"]),
        ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Empty"', ["Empty"]),
        ('displayName eq "Nobody"', []),
    ],
)
def test_groups_are_filtered_in_the_database(
    scim: TestClient, sales: dict[str, Any], expression: str, expected: list[str]
) -> None:
    """Entra looks groups up by displayName; no match is an empty 200 (RFC 7644 §3.4.2.2)."""
    page = _list(scim, filter=expression, sortBy="displayName", excludedAttributes="members")
    assert _names(page) == expected
    assert page["totalResults"] == len(expected)


def test_members_value_finds_the_groups_of_a_member(
    scim: TestClient, sales: dict[str, Any]
) -> None:
    """members[value eq "<id>"] lists the groups a user is directly in (RFC 7644 §3.4.2.2)."""
    support = _list(scim, filter='displayName eq "Support"')["Resources"][0]
    (bob,) = _member_ids(support)
    (alice,) = _member_ids(sales) - {bob}
    for member, expected in ((alice, ["Sales"]), (bob, ["Sales", "Support"])):
        expression = f'members[value eq "{member}"]'
        assert _names(_list(scim, filter=expression, sortBy="displayName")) == expected


@pytest.mark.parametrize("expression", ['userName eq "x"', "displayName eq", "members[value pr"])
def test_an_invalid_filter_is_400_invalidFilter(scim: TestClient, expression: str) -> None:
    """A filter that is not the grammar or names no Group attribute (RFC 7644 §3.4.2.2)."""
    response = scim.get("/scim/v2/Groups", params={"filter": expression})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_a_list_shows_members_unless_they_are_excluded(
    scim: TestClient, sales: dict[str, Any]
) -> None:
    """members is returned by default (RFC 7643 §4.2); excludedAttributes drops it (§3.4.2.5)."""
    listed = _list(scim, sortBy="displayName")
    assert [len(g.get("members", [])) for g in listed["Resources"]] == [0, 2, 1]
    assert listed["Resources"][1] == _get(scim, sales["id"])
    excluded = _list(scim, sortBy="displayName", excludedAttributes="members")
    assert not any("members" in group for group in excluded["Resources"])


@pytest.mark.parametrize(
    ("query", "keys", "member_keys"),
    [
        ({"attributes": "displayName"}, {"schemas", "id", "displayName"}, None),
        ({"attributes": "members.value"}, {"schemas", "id", "members"}, {"value"}),
        (
            {"excludedAttributes": "members.display,meta"},
            {"schemas", "id", "displayName", "externalId", "members"},
            {"value", "type", "$ref"},
        ),
    ],
)
def test_attributes_and_excludedAttributes_shape_groups_and_members(
    scim: TestClient, sales: dict[str, Any], query: dict[str, str], keys: set[str], member_keys: Any
) -> None:
    """Projections reach into members (RFC 7644 §3.4.2.5), read by id and in lists."""
    listed = _list(scim, filter='displayName eq "Sales"', **query)["Resources"]
    for group in (_get(scim, sales["id"], **query), *listed):
        assert set(group) == keys
        for member in group.get("members", []):
            assert set(member) == member_keys


def test_groups_are_paged_by_index_and_by_cursor(scim: TestClient, sales: dict[str, Any]) -> None:
    """startIndex/count (RFC 7644 §3.4.2.4) and cursor/nextCursor (RFC 9865 §2) agree."""
    by_index = [
        _names(_list(scim, sortBy="displayName", startIndex=start, count=2)) for start in (1, 3)
    ]
    first = _list(scim, sortBy="displayName", cursor="", count=2)
    second = _list(scim, sortBy="displayName", cursor=first["nextCursor"], count=2)
    assert by_index == [_names(first), _names(second)] == [["Empty", "Sales"], ["Support"]]
    assert "nextCursor" not in second
    assert _list(scim, count=0) == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 3,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_search_posts_the_query_as_a_body(scim: TestClient, sales: dict[str, Any]) -> None:
    """POST /Groups/.search takes a SearchRequest (RFC 7644 §3.4.3)."""
    request = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'displayName sw "s"',
        "sortBy": "displayName",
        "excludedAttributes": ["members"],
        "count": 1,
    }
    response = scim.post("/scim/v2/Groups/.search", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["totalResults"], _names(body)) == (2, ["Sales"])
    assert "members" not in body["Resources"][0]
