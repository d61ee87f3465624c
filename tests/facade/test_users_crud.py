"""/Users end to end: facade over HTTP, real identity_service, real SQLite."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.struct_pb2 import Struct
from httpx2 import Response
from identity.v1 import user_pb2, user_service_pb2
from identity.v1.user_service_pb2_grpc import UserServiceStub

from tests.helpers import TenantAccess

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"


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


def _put(scim: TestClient, user_id: str, body: dict[str, Any], **headers: str) -> Response:
    return scim.request("PUT", f"/scim/v2/Users/{user_id}", json=body, headers=headers)


def _write(scim: TestClient, method: str, body: dict[str, Any]) -> Response:
    """POST `body` as a new user, or PUT it over a fresh one."""
    if method == "POST":
        return scim.request("POST", "/scim/v2/Users", json=body)
    return _put(scim, str(_create(scim, "someone")["id"]), body)


def _okta_profile(user_id: str, **changes: Any) -> dict[str, Any]:
    """The user Okta PUTs back (Okta SCIM 2.0 reference, "Update a specific User (PUT)")."""
    return {
        "schemas": [CORE],
        "id": user_id,
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [
            {
                "primary": True,
                "value": "test.user@okta.local",
                "type": "work",
                "display": "test.user@okta.local",
            }
        ],
        "active": True,
        "groups": [],
        "meta": {"resourceType": "User"},
        **changes,
    }


def test_put_replaces_the_user_and_clears_what_it_leaves_out(scim: TestClient) -> None:
    """PUT clears what it leaves out and ignores read-only values (RFC 7644 §3.5.1)."""
    user = _create(
        scim, "test.user@okta.local", title="Tour Guide", nickName="Babs", locale="en-US"
    )
    response = _put(scim, str(user["id"]), _okta_profile(str(user["id"]), locale="fr-FR"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == scim.get(f"/scim/v2/Users/{user['id']}").json()
    assert body["name"] == {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
    assert body["locale"] == "fr-FR"
    assert not {"title", "nickName", "groups"} & set(body)
    assert response.headers["ETag"] == body["meta"]["version"]


@pytest.mark.parametrize(("before", "sent", "after"), [(True, False, False), (False, True, True)])
def test_put_with_active_sets_the_state(
    scim: TestClient, before: bool, sent: bool, after: bool
) -> None:
    """active=false by PUT deactivates, active=true reactivates (issue 3, Deactivation)."""
    user = _create(scim, "test.user@okta.local", active=before)
    response = _put(scim, str(user["id"]), _okta_profile(str(user["id"]), active=sent))
    assert response.json()["active"] is after
    listed = scim.get("/scim/v2/Users", params={"filter": f"active eq {str(after).lower()}"})
    assert [u["id"] for u in listed.json()["Resources"]] == [user["id"]]


@pytest.mark.parametrize("sent", ["absent", "null"])
@pytest.mark.parametrize("active", [True, False])
def test_put_without_active_keeps_the_state(scim: TestClient, active: bool, sent: str) -> None:
    """A PUT that does not say active neither deactivates nor reactivates (RFC 7644 §3.5.1)."""
    user = _create(scim, "test.user@okta.local", active=active)
    body = _okta_profile(str(user["id"]), active=None)
    if sent == "absent":
        del body["active"]
    assert _put(scim, str(user["id"]), body).json()["active"] is active


@pytest.mark.parametrize("sent", [{}, {"active": None}, {"Active": None}])
def test_a_create_without_active_makes_an_active_user(
    scim: TestClient, sent: dict[str, Any]
) -> None:
    """A POST that does not say active creates an active user (identity.v1's default)."""
    body = {"schemas": [CORE], "userName": "test.user@okta.local", **sent}
    response = scim.post("/scim/v2/Users", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["active"] is True


def test_put_of_the_user_as_it_is_keeps_its_version(scim: TestClient) -> None:
    """Okta re-sends unchanged users; a PUT that changes nothing writes nothing."""
    user = _create(scim, "test.user@okta.local")
    first = _put(scim, str(user["id"]), _okta_profile(str(user["id"]))).json()
    again = _put(scim, str(user["id"]), _okta_profile(str(user["id"])))
    assert again.status_code == 200
    assert again.json()["meta"]["version"] == first["meta"]["version"]


def test_an_invalid_put_of_a_missing_user_is_404(scim: TestClient) -> None:
    """The user is read before the body is judged: 404 comes before 400."""
    missing = "9b4b8a57-0000-4000-8000-000000000000"
    response = _put(scim, missing, {"schemas": [CORE], "active": "maybe"})
    assert response.status_code == 404


def test_a_put_of_a_missing_user_is_404(scim: TestClient) -> None:
    """PUT replaces an existing user; it never creates one (RFC 7644 §3.5.1)."""
    missing = "9b4b8a57-0000-4000-8000-000000000000"
    response = _put(scim, missing, _okta_profile(missing))
    assert response.status_code == 404
    assert response.json()["status"] == "404"


def test_put_with_a_stale_if_match_is_412(scim: TestClient) -> None:
    """If-Match that is not the current version fails with 412 (RFC 7644 §3.14)."""
    user = _create(scim, "test.user@okta.local")
    _put(scim, str(user["id"]), _okta_profile(str(user["id"])))
    meta = user["meta"]
    assert isinstance(meta, dict)
    stale = _put(
        scim, str(user["id"]), _okta_profile(str(user["id"])), **{"If-Match": meta["version"]}
    )
    assert stale.status_code == 412
    assert stale.json()["status"] == "412"


def test_put_leaves_attributes_scim_does_not_carry_alone(
    scim: TestClient, users: UserServiceStub, tenant: TenantAccess
) -> None:
    """Extensions written over gRPC by internal services survive an IdP's PUT."""
    user = _create(scim, "test.user@okta.local")
    name = f"{tenant.parent}/users/{user['id']}"
    extension = Struct()
    extension.update({"badge": "B-7"})
    users.UpdateUser(
        user_service_pb2.UpdateUserRequest(
            user=user_pb2.User(name=name, extensions={ACME: extension}),
            update_mask=FieldMask(paths=["extensions"]),
        ),
        metadata=tenant.metadata,
    )
    assert _put(scim, str(user["id"]), _okta_profile(str(user["id"]))).status_code == 200
    stored = users.GetUser(user_service_pb2.GetUserRequest(name=name), metadata=tenant.metadata)
    assert dict(stored.extensions[ACME]) == {"badge": "B-7"}


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_password_is_accepted_and_never_returned(scim: TestClient, method: str) -> None:
    """Okta sends password on create; it is write-only, returned never (RFC 7643 §4.1.1)."""
    body = {"schemas": [CORE], "userName": "test.user@okta.local", "password": "1mz050nq"}
    written = _write(scim, method, body)
    assert written.status_code in (200, 201), written.text
    user = written.json()
    got = scim.get(f"/scim/v2/Users/{user['id']}", params={"attributes": "password,userName"})
    listed = scim.get("/scim/v2/Users")
    assert "password" not in user
    assert "password" not in got.json()
    assert all("password" not in u for u in listed.json()["Resources"])
    assert "1mz050nq" not in written.text + got.text + listed.text


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_every_operation_on_a_deleted_user_is_404(scim: TestClient, method: str) -> None:
    """After DELETE the user is gone for every operation (RFC 7644 §3.6)."""
    user = _create(scim, "test.user@okta.local")
    assert scim.delete(f"/scim/v2/Users/{user['id']}").status_code == 204
    bodies: dict[str, Any] = {
        "PUT": _okta_profile(str(user["id"])),
        "PATCH": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
    }
    response = scim.request(method, f"/scim/v2/Users/{user['id']}", json=bodies.get(method))
    assert response.status_code == 404
    assert response.json()["status"] == "404"


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_two_primary_values_in_a_body_are_invalid(scim: TestClient, method: str) -> None:
    """The primary value true appears no more than once (RFC 7643 §2.4)."""
    body = {
        "schemas": [CORE],
        "userName": "test.user@okta.local",
        "emails": [
            {"value": "a@example.com", "primary": True},
            {"value": "b@example.com", "primary": True},
        ],
    }
    response = _write(scim, method, body)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
