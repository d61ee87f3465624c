"""A SCIM request through the facade is the actor of the changes it makes:
the change log records its method, path and client (issue 4)."""

from fastapi.testclient import TestClient
from identity.v1 import change_service_pb2_grpc

from identity_service.service.access import Access
from identity_service.store.engine import Database
from tests.changes.conftest import watcher
from tests.changes.support import kinds, snapshot
from tests.helpers import TenantAccess

PATCH_INACTIVE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "active", "value": False}],
}


def test_a_scim_patch_active_false_is_logged_as_a_deactivation_by_that_request(
    scim: TestClient,
    db: Database,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
) -> None:
    """PATCH active=false -> USER_DEACTIVATED, actor PATCH /scim/v2/Users/{id}."""
    log = watcher(db, change_stub, tenant)
    created = scim.post("/scim/v2/Users", json={"userName": "alice"})
    user_id = created.json()["id"]
    start = log.last_cursor()

    response = scim.patch(
        f"/scim/v2/Users/{user_id}",
        json=PATCH_INACTIVE,
        headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"},
    )
    assert response.status_code == 200, response.text
    records = log.since(start)

    assert kinds(records) == ["USER_DEACTIVATED"]
    actor = records[0].actor
    assert (actor.method, actor.path, actor.client) == (
        "PATCH",
        f"/scim/v2/Users/{user_id}",
        "203.0.113.7",
    )
    assert actor.credential.startswith(f"tenants/{tenant.slug}/credentials/")
    assert records[0].resource == f"tenants/{tenant.slug}/users/{user_id}"


def test_a_watcher_sees_a_scim_patch_active_false_as_a_deactivation_by_that_request(
    scim: TestClient,
    db: Database,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
) -> None:
    """End to end: an open WatchChanges stream receives the PATCH as
    USER_DEACTIVATED, its snapshot inactive, its actor the SCIM request."""
    created = scim.post("/scim/v2/Users", json={"userName": "alice"})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    with watcher(db, change_stub, tenant).watch() as stream:
        stream.until_checkpoint()
        response = scim.patch(
            f"/scim/v2/Users/{user_id}",
            json=PATCH_INACTIVE,
            headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"},
        )
        assert response.status_code == 200, response.text
        [record] = stream.changes(1)
        after, _ = stream.until_checkpoint()

    assert after == []
    assert kinds([record]) == ["USER_DEACTIVATED"]
    assert record.resource == f"tenants/{tenant.slug}/users/{user_id}"
    actor = record.actor
    assert (actor.method, actor.path, actor.client) == (
        "PATCH",
        f"/scim/v2/Users/{user_id}",
        "203.0.113.7",
    )
    scim_credential = Access(db).authenticate(tenant.secret).credential_id
    assert actor.credential == f"tenants/{tenant.slug}/credentials/{scim_credential}"
    state = snapshot(record)
    assert (state["id"], state["state"]) == (user_id, "DEACTIVATED")
    assert state["deactivate_time"]


def test_a_forwarded_client_address_is_recorded_percent_encoded_once(
    scim: TestClient,
    db: Database,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
) -> None:
    """gRPC metadata is printable ASCII, so what the facade forwards is percent-encoded
    (client.py), "%" as %25, once: the record decodes back to what the IdP sent."""
    log = watcher(db, change_stub, tenant)
    start = log.last_cursor()
    headers = {"X-Forwarded-For": "203.0.113.9%zz"}
    response = scim.post("/scim/v2/Users", json={"userName": "alice"}, headers=headers)
    assert response.status_code == 201, response.text

    [record] = log.since(start)
    assert record.actor.client == "203.0.113.9%25zz"
