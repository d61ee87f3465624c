"""PATCH on /Users (RFC 7644 §3.5.2): the answer, atomicity, `primary`,
noTarget, mutability and preconditions, end to end through the facade and a
real identity_service."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _create(scim: TestClient, **attributes: Any) -> dict[str, Any]:
    body = {"schemas": [CORE], "userName": "bjensen@example.com", **attributes}
    response = scim.post("/scim/v2/Users", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _patch(scim: TestClient, user_id: str, *operations: dict[str, Any], **headers: str) -> Response:
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    return scim.patch(f"/scim/v2/Users/{user_id}", json=body, headers=headers)


def _get(scim: TestClient, user_id: str) -> dict[str, Any]:
    response = scim.get(f"/scim/v2/Users/{user_id}")
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


def test_patch_answers_200_with_the_resource_and_its_etag(scim: TestClient) -> None:
    """PATCH returns 200 and the whole resource (RFC 7644 §3.5.2), its version as ETag."""
    user = _create(scim)
    response = _patch(scim, user["id"], {"op": "add", "path": "title", "value": "Tour Guide"})
    assert response.status_code == 200
    body = response.json()
    assert body == _get(scim, user["id"])
    assert body["title"] == "Tour Guide"
    assert response.headers["ETag"] == body["meta"]["version"] != user["meta"]["version"]


@pytest.mark.parametrize(
    ("invalid", "scim_type"),
    [
        ({"op": "copy", "path": "title", "value": "x"}, "invalidValue"),
        ({"op": "replace", "path": "emails[type eq", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "active", "value": "maybe"}, "invalidValue"),
        ({"op": "replace", "path": "id", "value": "another"}, "mutability"),
        ({"op": "remove", "path": "userName"}, "mutability"),
        ({"op": "replace", "path": 'emails[value co "nobody"].type', "value": "x"}, "noTarget"),
    ],
    ids=["unknown-op", "bad-path", "bad-value", "read-only", "required", "no-target"],
)
def test_a_later_invalid_operation_means_nothing_is_written(
    scim: TestClient, invalid: dict[str, Any], scim_type: str
) -> None:
    """PATCH is atomic: one failing operation fails them all (RFC 7644 §3.5.2)."""
    user = _create(scim, emails=[{"value": "bjensen@example.com", "type": "work"}])
    response = _patch(
        scim,
        user["id"],
        {"op": "replace", "path": "displayName", "value": "Babs"},
        {"op": "replace", "value": {"active": False}},
        invalid,
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == scim_type
    assert _get(scim, user["id"]) == user


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "emails", "value": [{"value": "b@example.com", "primary": True}]},
        {"op": "replace", "path": 'emails[value eq "b@example.com"].primary', "value": True},
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"},
    ],
    ids=["add-a-primary-value", "mark-an-existing-value", "mark-by-type"],
)
def test_setting_one_primary_value_clears_the_others(
    scim: TestClient, operation: dict[str, Any]
) -> None:
    """A value marked primary unmarks the others (RFC 7644 §3.5.2, RFC 7643 §2.4)."""
    user = _create(
        scim,
        emails=[
            {"value": "a@example.com", "type": "work", "primary": True},
            {"value": "b@example.com", "type": "home"},
        ],
    )
    response = _patch(scim, user["id"], operation)
    assert response.status_code == 200, response.text
    primary = {email["value"]: email["primary"] for email in _get(scim, user["id"])["emails"]}
    assert primary == {"a@example.com": False, "b@example.com": True}


@pytest.mark.parametrize(
    "path",
    [
        'addresses[type eq "work" and locality sw "Spring"].postalCode',
        'emails[value co "nobody"].type',
        'phoneNumbers[type ne "fax"].value',
        'emails[type eq "work" or type eq "home"].value',
    ],
)
def test_replacing_through_a_filter_that_matches_nothing_is_no_target(
    scim: TestClient, path: str
) -> None:
    """A filter matching no value and describing no entry is 400 noTarget (RFC 7644 §3.5.2.3)."""
    user = _create(scim, emails=[{"value": "b@example.com", "type": "other"}])
    response = _patch(scim, user["id"], {"op": "replace", "path": path, "value": "x"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "noTarget"
    assert response.json()["status"] == "400"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "id", "value": "another"},
        {"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"},
        {"op": "add", "path": "groups", "value": [{"value": "some-group"}]},
        {"op": "replace", "value": {"id": "another"}},
        {"op": "add", "path": f"{ENTERPRISE}:manager.displayName", "value": "Boss"},
    ],
    ids=["id", "meta.created", "groups", "id-in-a-no-path-value", "manager.displayName"],
)
def test_changing_a_read_only_attribute_is_mutability(
    scim: TestClient, operation: dict[str, Any]
) -> None:
    """A readOnly attribute (no User one is immutable) changes: 400 mutability (RFC 7644 §3.5.2)."""
    user = _create(scim)
    response = _patch(scim, user["id"], operation)
    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"


def test_a_read_only_value_equal_to_the_current_one_changes_nothing(scim: TestClient) -> None:
    """Okta repeats the id in no-path replace values; the same id is no change."""
    user = _create(scim)
    operation = {"op": "replace", "value": {"id": user["id"], "displayName": "Test User"}}
    response = _patch(scim, user["id"], operation)
    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "Test User"


def test_removing_active_is_refused_with_mutability(scim: TestClient) -> None:
    """A Roster user is always active or deactivated: active cannot become unassigned."""
    user = _create(scim)
    response = _patch(scim, user["id"], {"op": "remove", "path": "active"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"
    assert _get(scim, user["id"]) == user


def test_a_patch_that_changes_nothing_keeps_the_version(scim: TestClient) -> None:
    """Re-adding what is there writes nothing: meta.version stays (RFC 7644 §3.14)."""
    user = _create(scim, emails=[{"value": "b@example.com", "type": "work"}])
    response = _patch(
        scim,
        user["id"],
        {"op": "add", "path": "emails", "value": [{"value": "b@example.com", "type": "work"}]},
        {"op": "replace", "path": "active", "value": True},
    )
    assert response.status_code == 200
    assert response.json()["meta"]["version"] == user["meta"]["version"]


@pytest.mark.parametrize("active", [False, True])
def test_an_active_only_patch_keeps_every_other_attribute(scim: TestClient, active: bool) -> None:
    """Deactivation and reactivation (issue 3) change active and nothing else."""
    user = _create(scim, active=not active, title="Tour Guide", nickName="Babs")
    response = _patch(scim, user["id"], {"op": "replace", "path": "active", "value": active})
    after = response.json()
    assert after["active"] is active
    assert {k: v for k, v in after.items() if k not in ("active", "meta")} == {
        k: v for k, v in user.items() if k not in ("active", "meta")
    }


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "path": "active", "value": False}],
        [{"op": "Replace", "path": "active", "value": "False"}],
        [{"op": "replace", "value": {"active": False}}],
        [{"op": "add", "path": f"{CORE}:active", "value": False}],
        [
            {"op": "replace", "path": "active", "value": True},
            {"op": "replace", "path": "active", "value": False},
        ],
    ],
    ids=["path", "entra-string", "okta-no-path", "urn-add", "last-wins"],
)
def test_deactivating_a_deactivated_user_keeps_the_version(
    scim: TestClient, operations: list[dict[str, Any]]
) -> None:
    """An active-only PATCH that changes nothing writes nothing (RFC 7644 §3.14)."""
    user = _create(scim, active=False, title="Tour Guide")
    response = _patch(scim, user["id"], *operations)
    assert response.status_code == 200
    assert response.json() == user
    assert response.headers["ETag"] == user["meta"]["version"]


def test_an_active_only_patch_of_a_missing_user_is_404(scim: TestClient) -> None:
    """Deactivating an id that does not exist is 404 (RFC 7644 §3.12)."""
    missing = "9b4b8a57-0000-4000-8000-000000000000"
    response = _patch(scim, missing, {"op": "replace", "path": "active", "value": False})
    assert response.status_code == 404
    assert response.json()["status"] == "404"


def test_an_invalid_patch_of_a_missing_user_is_404(scim: TestClient) -> None:
    """The user is read before the operations are judged: 404 comes before 400."""
    missing = "9b4b8a57-0000-4000-8000-000000000000"
    response = _patch(scim, missing, {"op": "replace", "path": "active", "value": "maybe"})
    assert response.status_code == 404


def test_a_stale_if_match_on_a_deactivation_is_412(scim: TestClient) -> None:
    """If-Match guards an active-only PATCH as any other (RFC 7644 §3.14)."""
    user = _create(scim)
    _patch(scim, user["id"], {"op": "add", "path": "title", "value": "Guide"})
    stale = {"If-Match": user["meta"]["version"]}
    response = _patch(
        scim, user["id"], {"op": "replace", "path": "active", "value": False}, **stale
    )
    assert response.status_code == 412
    assert _get(scim, user["id"])["active"] is True


def test_a_stale_if_match_is_412_and_writes_nothing(scim: TestClient) -> None:
    """If-Match that is not the current version fails with 412 (RFC 7644 §3.14)."""
    user = _create(scim)
    _patch(scim, user["id"], {"op": "add", "path": "title", "value": "Guide"})
    current = _get(scim, user["id"])
    stale = {"If-Match": user["meta"]["version"]}
    response = _patch(scim, user["id"], {"op": "add", "path": "nickName", "value": "B"}, **stale)
    assert response.status_code == 412
    assert response.json()["status"] == "412"
    assert _get(scim, user["id"]) == current


def test_the_current_if_match_applies_the_patch(scim: TestClient) -> None:
    """If-Match naming the current version lets the PATCH through (RFC 7644 §3.14)."""
    user = _create(scim)
    current = {"If-Match": user["meta"]["version"]}
    response = _patch(scim, user["id"], {"op": "add", "path": "nickName", "value": "B"}, **current)
    assert response.status_code == 200
    assert response.json()["nickName"] == "B"


def test_patching_a_missing_user_is_404(scim: TestClient) -> None:
    """PATCH on an id that does not exist is 404 (RFC 7644 §3.12)."""
    response = _patch(
        scim, "9b4b8a57-0000-4000-8000-000000000000", {"op": "add", "path": "title", "value": "x"}
    )
    assert response.status_code == 404
    assert response.json()["status"] == "404"
