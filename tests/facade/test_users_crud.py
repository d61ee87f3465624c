"""/Users end to end: facade over HTTP, real identity_service, real SQLite."""

from fastapi.testclient import TestClient

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _create(scim: TestClient, user_name: str, **attributes: object) -> dict[str, object]:
    response = scim.post(
        "/scim/v2/Users", json={"schemas": [CORE], "userName": user_name, **attributes}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_created_user_reads_back_with_meta_and_etag(scim: TestClient) -> None:
    """POST answers 201 with Location and ETag; GET returns the same resource (RFC 7644 §3.3)."""
    created = scim.post(
        "/scim/v2/Users",
        json={
            "schemas": [CORE, ENTERPRISE],
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
            "password": "t1meMa$heen",
            ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/scim+json"
    body = created.json()
    assert created.headers["Location"] == body["meta"]["location"]
    assert created.headers["ETag"] == body["meta"]["version"]
    assert "password" not in body
    got = scim.get(f"/scim/v2/Users/{body['id']}")
    assert got.status_code == 200
    assert got.json() == body


def test_userName_is_unique_case_insensitively(scim: TestClient) -> None:
    """ "Alice" and "alice" collide: 409 uniqueness (RFC 7644 §3.3)."""
    _create(scim, "Alice")
    response = scim.post("/scim/v2/Users", json={"schemas": [CORE], "userName": "alice"})
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert response.json()["status"] == "409"


def test_patch_active_false_deactivates_and_delete_gives_404(scim: TestClient) -> None:
    """Entra's PATCH path active with a string boolean deactivates; DELETE -> 204 then 404."""
    user = _create(scim, "carol")
    patched = scim.patch(
        f"/scim/v2/Users/{user['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False
    assert scim.delete(f"/scim/v2/Users/{user['id']}").status_code == 204
    assert scim.get(f"/scim/v2/Users/{user['id']}").status_code == 404
    _create(scim, "carol")


def test_okta_connectivity_check_lists_users(scim: TestClient) -> None:
    """Okta tests the connection with GET /Users?count=1&startIndex=1."""
    _create(scim, "dave")
    response = scim.get("/scim/v2/users?count=1&startIndex=1")
    assert response.status_code == 200
    body = response.json()
    assert body["totalResults"] == 1
    assert body["Resources"][0]["userName"] == "dave"


def test_no_token_is_401_with_a_scim_error(facade: TestClient) -> None:
    """401 carries a SCIM error and WWW-Authenticate."""
    response = facade.get("/scim/v2/Users", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == "401"
