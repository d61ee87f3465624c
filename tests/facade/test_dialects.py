"""The dialects Okta and Entra ID really send on /Users (issue 3, "The
dialects IdPs really send"), each accepted and read as the strict request it
stands for: end to end through the facade and a real identity_service."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User"


def _create(scim: TestClient, **attributes: Any) -> dict[str, Any]:
    body = {"schemas": [CORE], "userName": "bjensen@example.com", **attributes}
    response = scim.post("/scim/v2/Users", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _patch(scim: TestClient, user_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
    response = scim.patch(
        f"/scim/v2/Users/{user_id}", json={"schemas": [PATCH_OP], "Operations": list(operations)}
    )
    assert response.status_code == 200, response.text
    patched: dict[str, Any] = response.json()
    return patched


def _write(scim: TestClient, method: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST `body` as a new user, or PUT it over a fresh one."""
    if method == "POST":
        response = scim.post("/scim/v2/Users", json=body)
        assert response.status_code == 201, response.text
    else:
        user = _create(scim, userName="someone-else")
        response = scim.put(f"/scim/v2/Users/{user['id']}", json=body)
        assert response.status_code == 200, response.text
    written: dict[str, Any] = response.json()
    return written


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_read_only_and_null_attributes_in_a_body_are_ignored(scim: TestClient, method: str) -> None:
    """Entra's meta, groups, id, "roles": [] and nulls are ignored (RFC 7643 §2.2, §2.5)."""
    body = {
        "schemas": [CORE, ENTERPRISE],
        "id": "not-the-id",
        "userName": "jyoung@testuser.com",
        "meta": {"resourceType": "User", "created": "not even a date"},
        "groups": [{"value": "some-group", "display": "Sales"}],
        "roles": [],
        "addresses": None,
        "phoneNumbers": None,
        "title": None,
        "name": {"familyName": "Young", "givenName": "Joy", "middleName": None},
        ENTERPRISE: {"department": None, "manager": None},
    }
    user = _write(scim, method, body)
    assert user["id"] != "not-the-id"
    assert user["name"] == {"familyName": "Young", "givenName": "Joy"}
    assert not {"groups", "roles", "addresses", "phoneNumbers", "title", ENTERPRISE} & set(user)
    assert user["meta"]["created"] != "not even a date"


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_unknown_schema_urns_are_accepted_and_dropped(scim: TestClient, method: str) -> None:
    """Schema URNs the facade does not serve are dropped from `schemas` (RFC 7643 §3)."""
    body = {
        "schemas": [CORE, ADSCIM, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "userName": "jyoung@testuser.com",
        ADSCIM: {"tag": "701984"},
    }
    user = _write(scim, method, body)
    assert user["schemas"] == [CORE]
    assert ADSCIM not in user


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_attribute_names_in_any_case_are_read_in_bodies(scim: TestClient, method: str) -> None:
    """Attribute names are case-insensitive (RFC 7643 §2.1): "UserName", "Active"."""
    body = {
        "SCHEMAS": [CORE],
        "UserName": "bjensen@example.com",
        "Active": False,
        "NAME": {"GivenName": "Barbara"},
        "Emails": [{"Value": "bjensen@example.com", "TYPE": "work", "Primary": True}],
        ENTERPRISE.upper(): {"Department": "Tour Operations"},
    }
    user = _write(scim, method, body)
    assert user["userName"] == "bjensen@example.com"
    assert user["active"] is False
    assert user["name"] == {"givenName": "Barbara"}
    assert user["emails"] == [{"value": "bjensen@example.com", "type": "work", "primary": True}]
    assert user[ENTERPRISE] == {"department": "Tour Operations"}


def test_booleans_as_strings_are_read_as_booleans_in_bodies(scim: TestClient) -> None:
    """Entra sends "True" and "False" for booleans (known issues page)."""
    user = _create(
        scim, active="False", emails=[{"value": "b@example.com", "type": "work", "primary": "True"}]
    )
    assert user["active"] is False
    assert user["emails"][0]["primary"] is True


@pytest.mark.parametrize(
    ("operation", "active"),
    [
        ({"op": "Replace", "path": "active", "value": "False"}, False),
        ({"op": "Replace", "path": "active", "value": "True"}, True),
        ({"op": "Replace", "value": {"active": "False"}}, False),
    ],
)
def test_booleans_as_strings_are_read_as_booleans_in_patches(
    scim: TestClient, operation: dict[str, Any], active: bool
) -> None:
    """Entra without the aadOptscim062020 flag: "value": "False" deactivates."""
    user = _create(scim, active=not active)
    assert _patch(scim, user["id"], operation)["active"] is active
    assert scim.get(f"/scim/v2/Users/{user['id']}").json()["active"] is active


@pytest.mark.parametrize(
    ("write", "remove"), [("Add", "Remove"), ("Replace", "Remove"), ("ADD", "REMOVE")]
)
def test_op_is_read_in_any_case(scim: TestClient, write: str, remove: str) -> None:
    """Entra emits Add, Replace and Remove (RFC 7644 §3.5.2 spells them lower-case)."""
    user = _create(scim)
    patched = _patch(scim, user["id"], {"op": write, "path": "nickName", "value": "Babs"})
    assert patched["nickName"] == "Babs"
    assert "nickName" not in _patch(scim, user["id"], {"op": remove, "path": "nickName"})


def test_a_no_path_replace_reads_dotted_and_urn_keys(scim: TestClient) -> None:
    """Entra's no-path replace keys are attribute paths, dotted or by URN (RFC 7644 §3.5.2.3)."""
    user = _create(scim, name={"givenName": "Barbara", "familyName": "Jensen"})
    patched = _patch(
        scim,
        user["id"],
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
    )
    assert patched["displayName"] == "Bjfe"
    assert patched["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert patched[ENTERPRISE] == {"employeeNumber": "Aklq"}
    assert ENTERPRISE in patched["schemas"]


@pytest.mark.parametrize("op", ["add", "replace"])
def test_paths_with_the_enterprise_urn_prefix_reach_the_extension(
    scim: TestClient, op: str
) -> None:
    """Extension attributes are addressed by URN (RFC 7644 §3.10)."""
    user = _create(scim)
    path = f"{ENTERPRISE}:department"
    patched = _patch(scim, user["id"], {"op": op, "path": path, "value": "Tour Operations"})
    assert patched[ENTERPRISE] == {"department": "Tour Operations"}
    assert ENTERPRISE not in _patch(scim, user["id"], {"op": "Remove", "path": path})


def _manager_by_post(scim: TestClient, manager: Any) -> dict[str, Any]:
    return _create(scim, schemas=[CORE, ENTERPRISE], **{ENTERPRISE: {"manager": manager}})


def _manager_by_put(scim: TestClient, manager: Any) -> dict[str, Any]:
    user = _create(scim)
    body = {"schemas": [CORE, ENTERPRISE], "userName": "bjensen@example.com"}
    response = scim.put(
        f"/scim/v2/Users/{user['id']}", json={**body, ENTERPRISE: {"manager": manager}}
    )
    assert response.status_code == 200, response.text
    written: dict[str, Any] = response.json()
    return written


def _manager_by_path(path: str) -> Any:
    def write(scim: TestClient, manager: Any) -> dict[str, Any]:
        user = _create(scim)
        return _patch(scim, user["id"], {"op": "Add", "path": path, "value": manager})

    return write


def _manager_by_no_path_key(scim: TestClient, manager: Any) -> dict[str, Any]:
    user = _create(scim)
    return _patch(scim, user["id"], {"op": "Replace", "value": {f"{ENTERPRISE}:manager": manager}})


def _manager_by_extension_path(scim: TestClient, manager: Any) -> dict[str, Any]:
    user = _create(scim)
    operation = {"op": "Replace", "path": ENTERPRISE, "value": {"manager": manager}}
    return _patch(scim, user["id"], operation)


@pytest.mark.parametrize(
    "write",
    [
        _manager_by_post,
        _manager_by_put,
        _manager_by_path(f"{ENTERPRISE}:manager"),
        _manager_by_path("manager"),
        _manager_by_no_path_key,
        _manager_by_extension_path,
    ],
    ids=["POST", "PUT", "PATCH-urn-path", "PATCH-bare-path", "PATCH-no-path", "PATCH-extension"],
)
@pytest.mark.parametrize(
    "form", ["bare-id", "one-element-array", "object-without-ref"], ids=lambda form: form
)
def test_the_manager_is_read_as_a_bare_id_or_a_one_element_array(
    scim: TestClient, write: Any, form: str
) -> None:
    """Entra sends the manager as "id" or [{"value": "id"}]; $ref is derived (RFC 7643 §4.3)."""
    manager = _create(scim, userName="manager@example.com")["id"]
    value = {
        "bare-id": manager,
        "one-element-array": [{"value": manager, "$ref": f"http://x/scim/Users/{manager}"}],
        "object-without-ref": {"value": manager},
    }[form]
    user = write(scim, value)
    expected = {"value": manager, "$ref": f"http://scim.test/scim/v2/Users/{manager}"}
    assert user[ENTERPRISE]["manager"] == expected
    assert scim.get(f"/scim/v2/Users/{user['id']}").json()[ENTERPRISE]["manager"] == expected


@pytest.mark.parametrize("path", [f"{ENTERPRISE}:manager", "manager"])
def test_removing_the_manager_ignores_the_value_naming_it(scim: TestClient, path: str) -> None:
    """A user has one manager: removing it, with or without naming it, clears it."""
    manager = _create(scim, userName="manager@example.com")["id"]
    user = _manager_by_post(scim, manager)
    patched = _patch(
        scim, user["id"], {"op": "Remove", "path": path, "value": [{"value": manager}]}
    )
    assert ENTERPRISE not in patched


@pytest.mark.parametrize("op", ["Add", "Replace"])
def test_a_work_email_is_created_when_none_exists(scim: TestClient, op: str) -> None:
    """Entra writes emails[type eq "work"].value before any work email exists: it is created."""
    user = _create(scim, emails=[{"value": "home@example.com", "type": "home"}])
    path = 'emails[type eq "work"].value'
    patched = _patch(scim, user["id"], {"op": op, "path": path, "value": "work@example.com"})
    assert patched["emails"] == [
        {"value": "home@example.com", "type": "home", "primary": False},
        {"value": "work@example.com", "type": "work", "primary": False},
    ]


def test_several_operations_on_one_filtered_entry_build_one_entry(scim: TestClient) -> None:
    """Entra sends one operation per sub-attribute of addresses[type eq "work"]."""
    user = _create(scim)
    patched = _patch(
        scim,
        user["id"],
        *(
            {"op": "Add", "path": f'addresses[type eq "work"].{attribute}', "value": value}
            for attribute, value in (
                ("streetAddress", "100 Universal City Plaza"),
                ("locality", "Hollywood"),
                ("postalCode", "91608"),
                ("country", "US"),
            )
        ),
        {"op": "Add", "path": 'addresses[type eq "work"].primary', "value": "True"},
    )
    assert patched["addresses"] == [
        {
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "postalCode": "91608",
            "country": "US",
            "type": "work",
            "primary": True,
        }
    ]


@pytest.mark.parametrize("active", [False, True])
def test_okta_no_path_replace_with_an_object_sets_active(scim: TestClient, active: bool) -> None:
    """Okta (de)activates with {"op": "replace", "value": {"active": ...}} (Okta SCIM 2.0 ref)."""
    user = _create(scim, active=not active, displayName="Test User")
    patched = _patch(scim, user["id"], {"op": "replace", "value": {"active": active}})
    assert patched["active"] is active
    assert patched["displayName"] == "Test User"


def test_attribute_names_in_any_case_are_read_in_patch_values_and_paths(
    scim: TestClient,
) -> None:
    """Attribute names in PATCH values and paths are case-insensitive (RFC 7643 §2.1)."""
    user = _create(scim)
    patched = _patch(
        scim,
        user["id"],
        {
            "op": "replace",
            "value": {"Active": False, "NickName": "Babs", "Name": {"GivenName": "B"}},
        },
        {"op": "add", "path": "DisplayName", "value": "Barbara"},
    )
    assert patched["active"] is False
    assert (patched["nickName"], patched["name"], patched["displayName"]) == (
        "Babs",
        {"givenName": "B"},
        "Barbara",
    )


def test_a_remove_with_a_value_removes_the_entries_it_names(scim: TestClient) -> None:
    """Entra removes values by naming them in `value` (known issues page)."""
    emails = [{"value": "a@example.com", "type": "work"}, {"value": "b@example.com"}]
    user = _create(scim, emails=emails)
    patched = _patch(
        scim, user["id"], {"op": "Remove", "path": "emails", "value": [{"value": "a@example.com"}]}
    )
    assert patched["emails"] == [{"value": "b@example.com", "primary": False}]


def test_the_work_email_filter_finds_the_user(scim: TestClient) -> None:
    """Entra matches users by emails[type eq "work"].value eq "x" (tutorial, /Users)."""
    user = _create(scim, emails=[{"value": "Work@Example.com", "type": "work"}])
    _create(scim, userName="other", emails=[{"value": "work@example.com", "type": "home"}])
    found = scim.get(
        "/scim/v2/Users", params={"filter": 'emails[type eq "work"].value eq "work@example.com"'}
    ).json()
    assert [resource["id"] for resource in found["Resources"]] == [user["id"]]


@pytest.mark.parametrize(
    "email", ["test.user@okta.local", "jyoung@Contoso.com", "ad.user@corp.local"]
)
def test_an_email_is_kept_as_the_idp_sent_it(scim: TestClient, email: str) -> None:
    """Okta's documented okta.local and Entra's Contoso.com come back as sent (RFC 7643 §4.1.2)."""
    user = _create(scim, emails=[{"value": email, "type": "work"}])
    assert user["emails"][0]["value"] == email
    assert scim.get(f"/scim/v2/Users/{user['id']}").json()["emails"][0]["value"] == email
