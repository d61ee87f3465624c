"""/Bulk end to end (RFC 7644 §3.7): the RFC's own examples, kept under
tests/golden/rfc, run through the facade and a real identity_service.

The RFC's examples are kept verbatim but for what keeps them from being
JSON: the §3.7.3 PATCH data `{[...]}` is written as the PatchOp it stands for
(§3.5.2), and the §3.7.3 responses get the comma missing after "scimType".
The §3.7.2 response nests its status ({"code": "201"}); every other example,
and the facade, answer it as a string ("201")."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

GOLDEN = Path(__file__).parent.parent / "golden" / "rfc"
BASE = "/scim/v2"
BULK = f"{BASE}/Bulk"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# The ids of the §3.7.3 request, standing for users of the test's tenant.
RFC_PUT, RFC_PATCH, RFC_DELETE = (
    "b7c14771-226c-4d05-8860-134711653041",
    "5d8d29d3-342c-4b5f-8683-a3cb6763ffcc",
    "e9025315-6bea-44e1-899c-1e07454e468b",
)


def _golden(name: str) -> Any:
    return json.loads((GOLDEN / f"rfc7644-{name}.json").read_text())


def _bulk(scim: TestClient, *operations: Any, **attributes: Any) -> list[dict[str, Any]]:
    """The results of a BulkRequest of `operations`, answered 200."""
    request = {"schemas": [BULK_REQUEST], **attributes, "Operations": list(operations)}
    response = scim.post(BULK, json=request)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/scim+json"
    results: list[dict[str, Any]] = response.json()["Operations"]
    return results


def _user(scim: TestClient, user_name: str, **attributes: Any) -> dict[str, Any]:
    response = scim.post(
        f"{BASE}/Users", json={"schemas": [CORE], "userName": user_name, **attributes}
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def _post_user(bulk_id: str, user_name: str, **attributes: Any) -> dict[str, Any]:
    data = {"schemas": [CORE], "userName": user_name, **attributes}
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data}


def _replace(path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": value}]}


def _found(scim: TestClient, user_name: str) -> int:
    """How many users of the tenant have `user_name`."""
    query = {"filter": f'userName eq "{user_name}"'}
    found: int = scim.get(f"{BASE}/Users", params=query).json()["totalResults"]
    return found


def _id(result: dict[str, Any]) -> str:
    return str(result["location"]).rsplit("/", 1)[1]


def _shape(result: dict[str, Any]) -> tuple[object, ...]:
    """What an RFC result and ours share: attributes, method, bulkId, status."""
    status = result["status"]
    status = status["code"] if isinstance(status, dict) else status
    return sorted(result), result["method"], result.get("bulkId"), status


def test_the_rfc_bulkId_example_puts_the_new_user_in_the_new_group(scim: TestClient) -> None:
    """A later operation's "bulkId:qwerty" becomes the created User's id (RFC 7644 §3.7.2)."""
    response = scim.post(BULK, json=_golden("3.7.2-bulk-request-user-and-group"))
    rfc = _golden("3.7.2-bulk-response-user-and-group")
    assert response.json()["schemas"] == rfc["schemas"]
    results = response.json()["Operations"]
    assert [_shape(r) for r in results] == [_shape(r) for r in rfc["Operations"]]
    user, group = (scim.get(r["location"]) for r in results)
    assert [r["location"].rsplit("/", 2)[1] for r in results] == ["Users", "Groups"]
    assert [r["version"] for r in results] == [user.headers["ETag"], group.headers["ETag"]]
    assert [m["value"] for m in group.json()["members"]] == [user.json()["id"]]


def test_a_bulkId_in_the_enterprise_manager_becomes_the_users_id(scim: TestClient) -> None:
    """References in extensions are replaced the same way (RFC 7644 §3.7.2)."""
    alice, bob = _bulk(scim, *_golden("3.7.2-bulk-request-enterprise-manager")["Operations"])
    extension = scim.get(bob["location"]).json()[ENTERPRISE]
    assert extension["manager"]["value"] == _id(alice)
    assert extension["employeeNumber"] == "11250"


def test_circular_references_fail_with_409_and_create_nothing(scim: TestClient) -> None:
    """Groups A and B naming each other: 409 Conflict, as RFC 7644 §3.7.1 allows."""
    results = _bulk(scim, *_golden("3.7.1-bulk-request-circular-references")["Operations"])
    assert [(r["bulkId"], r["status"]) for r in results] == [("qwerty", "409"), ("ytrewq", "409")]
    assert all(r["response"]["status"] == "409" and "location" not in r for r in results)
    listed = scim.get(f"{BASE}/Groups", params={"filter": 'displayName sw "Group"'}).json()
    assert listed["totalResults"] == 0


def _rfc_request(scim: TestClient, *, current: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The §3.7.3 request against Bob, Carol and Eve of the tenant: their ids
    for the RFC's, and their current versions for the RFC's when `current`."""
    users = {
        RFC_PUT: _user(scim, "bob-before"),
        RFC_PATCH: _user(scim, "carol", nickName="Carrie"),
        RFC_DELETE: _user(scim, "eve"),
    }
    request = _golden("3.7.3-bulk-request")
    for operation in request["Operations"][1:] if current else []:
        operation["version"] = users[operation["path"].rsplit("/", 1)[1]]["meta"]["version"]
    text = json.dumps(request)
    for rfc_id, user in users.items():
        text = text.replace(rfc_id, user["id"])
    return json.loads(text), {rfc_id: user["id"] for rfc_id, user in users.items()}


def test_the_rfc_example_adds_updates_and_removes_users(scim: TestClient) -> None:
    """Each result has the status and location of its single request (RFC 7644 §3.7.3)."""
    request, ids = _rfc_request(scim, current=True)
    request["Operations"][0]["data"]["schemas"] = [CORE]  # the RFC's URN is not User's
    response = scim.post(BULK, json=request)
    rfc = _golden("3.7.3-bulk-response")["Operations"]
    results = response.json()["Operations"]
    assert [_shape(r) for r in results] == [_shape(r) for r in rfc]
    locations = [f"http://scim.test{BASE}/Users/{ids[i]}" for i in (RFC_PUT, RFC_PATCH, RFC_DELETE)]
    assert [r["location"] for r in results[1:]] == locations
    assert scim.get(locations[0]).json()["userName"] == "Bob"
    carol = scim.get(locations[1]).json()
    assert (carol["userName"], "nickName" in carol) == ("Dave", False)
    assert scim.get(locations[2]).status_code == 404
    assert scim.get(results[0]["location"]).json()["userName"] == "Alice"


def test_the_rfc_example_with_stale_versions_fails_every_operation(scim: TestClient) -> None:
    """Without failOnErrors every operation runs; failed ones change nothing (RFC 7644 §3.7.3)."""
    request, ids = _rfc_request(scim, current=False)
    del request["failOnErrors"]
    scim.delete(f"{BASE}/Users/{ids[RFC_DELETE]}")
    results = scim.post(BULK, json=request).json()["Operations"]
    rfc = _golden("3.7.3-bulk-response-all-failed")["Operations"]
    assert [_shape(r) for r in results] == [_shape(r) for r in rfc]
    assert [r["response"]["status"] for r in results] == ["400", "412", "412", "404"]
    assert scim.get(f"{BASE}/Users/{ids[RFC_PUT]}").json()["userName"] == "bob-before"
    assert scim.get(f"{BASE}/Users/{ids[RFC_PATCH]}").json()["nickName"] == "Carrie"
    assert _found(scim, "Alice") == 0


def test_failOnErrors_1_stops_at_the_first_error(scim: TestClient) -> None:
    """The RFC's own request stops after its failed POST (RFC 7644 §3.7.3)."""
    request, ids = _rfc_request(scim, current=True)
    results = scim.post(BULK, json=request).json()["Operations"]
    rfc = _golden("3.7.3-bulk-response-fail-on-errors")["Operations"]
    assert [_shape(r) for r in results] == [_shape(r) for r in rfc]
    assert results[0]["response"]["schemas"] == rfc[0]["response"]["schemas"]
    assert scim.get(f"{BASE}/Users/{ids[RFC_DELETE]}").status_code == 200
    assert scim.get(f"{BASE}/Users/{ids[RFC_PUT]}").json()["userName"] == "bob-before"


@pytest.mark.parametrize(
    ("fail_on_errors", "performed"), [({"failOnErrors": 1}, 1), ({"failOnErrors": 2}, 2), ({}, 3)]
)
def test_failOnErrors_is_the_number_of_errors_accepted(
    scim: TestClient, fail_on_errors: dict[str, int], performed: int
) -> None:
    """The job stops once failOnErrors operations failed, listing those run (RFC 7644 §3.7.3)."""
    missing = [{"method": "DELETE", "path": f"/Users/missing-{n}"} for n in (1, 2)]
    results = _bulk(scim, *missing, _post_user("after", "after"), **fail_on_errors)
    assert [r["status"] for r in results] == ["404", "404", "201"][:performed]
    assert _found(scim, "after") == int(performed == 3)


def _bulk_limits(scim: TestClient) -> dict[str, int]:
    """ServiceProviderConfig.bulk, the limits the facade advertises (RFC 7643 §5)."""
    bulk: dict[str, int] = scim.get(f"{BASE}/ServiceProviderConfig").json()["bulk"]
    return bulk


def test_more_operations_than_maxOperations_is_413_and_runs_none(scim: TestClient) -> None:
    """maxOperations + 1 operations: 413 naming the limit, nothing done (RFC 7644 §3.7.4)."""
    limit = _bulk_limits(scim)["maxOperations"]
    alice = _user(scim, "alice")
    operations = [{"method": "DELETE", "path": f"/Users/{alice['id']}"}] * (limit + 1)
    response = scim.post(BULK, json={"schemas": [BULK_REQUEST], "Operations": operations})
    assert response.status_code == 413
    assert response.json()["status"] == "413"
    assert f"maxOperations ({limit})" in response.json()["detail"]
    assert scim.get(f"{BASE}/Users/{alice['id']}").status_code == 200


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 413)])
def test_a_body_over_maxPayloadSize_is_413(
    scim: TestClient, extra: int, status: int, chunked: bool
) -> None:
    """maxPayloadSize bytes pass, one more is the RFC's 413, by Content-Length or read (§3.7.4)."""
    limit = _bulk_limits(scim)["maxPayloadSize"]
    body = json.dumps({"schemas": [BULK_REQUEST], "Operations": []}).encode()
    body += b" " * (limit + extra - len(body))
    content = iter([body[: limit // 2], body[limit // 2 :]]) if chunked else body
    response = scim.post(BULK, content=content)
    assert response.status_code == status
    if status == 413:
        rfc = _golden("3.7.4-error-payload-too-large")
        assert response.json() == {**rfc, "detail": rfc["detail"].replace("1048576", str(limit))}


def test_a_reference_to_an_unknown_bulkId_fails_that_operation(scim: TestClient) -> None:
    """No POST declares the bulkId: 409, in a path or in data; the rest runs (RFC 7644 §3.7.2)."""
    results = _bulk(
        scim,
        {"method": "PATCH", "path": "/Users/bulkId:nobody", "data": _replace("nickName", "x")},
        _post_user("bob", "bob", **{ENTERPRISE: {"manager": {"value": "bulkId:nobody"}}}),
        _post_user("carol", "carol"),
    )
    assert [r["status"] for r in results] == ["409", "409", "201"]
    assert results[0]["location"] == f"http://scim.test{BASE}/Users/bulkId:nobody"
    assert "nobody" in results[1]["response"]["detail"]
    assert "location" not in results[1]
    assert scim.get(f"{BASE}/Users").json()["totalResults"] == 1


def test_a_reference_to_a_failed_post_fails_with_409(scim: TestClient) -> None:
    """The POST of bulkId "taken" failed (409 uniqueness): its references fail too."""
    _user(scim, "taken")
    results = _bulk(
        scim,
        _post_user("taken", "taken"),
        {"method": "PATCH", "path": "/Users/bulkId:taken", "data": _replace("nickName", "x")},
    )
    assert [r["status"] for r in results] == ["409", "409"]
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert "failed" in results[1]["response"]["detail"]


def test_a_post_runs_before_an_earlier_operation_referencing_it(scim: TestClient) -> None:
    """The client's intent is kept; results keep the request's order (RFC 7644 §3.7)."""
    results = _bulk(
        scim,
        {"method": "PATCH", "path": "/Users/bulkId:later", "data": _replace("nickName", "Al")},
        _post_user("later", "alice"),
    )
    assert [(r["method"], r["status"]) for r in results] == [("PATCH", "200"), ("POST", "201")]
    assert results[0]["location"] == results[1]["location"]
    assert scim.get(results[1]["location"]).json()["nickName"] == "Al"


@pytest.mark.parametrize(
    ("operation", "status", "scim_type"),
    [
        ("not an object", "400", "invalidSyntax"),
        ({"path": "/Users/x"}, "400", "invalidValue"),
        ({"method": "GET", "path": "/Users/x"}, "405", None),
        ({"method": "POST", "path": "/Users", "data": {"userName": "x"}}, "400", "invalidValue"),
        ({"method": "POST", "bulkId": "b", "path": "/Bulk", "data": {}}, "400", "invalidPath"),
        ({"method": "DELETE", "path": "/Me"}, "400", "invalidPath"),
        ({"method": "POST", "bulkId": "b", "path": "/Users/.search", "data": {}}, "405", None),
        ({"method": "DELETE", "path": "/Users"}, "405", None),
        ({"method": "PUT", "path": "/Users/x"}, "400", "invalidValue"),
        ({"method": "PATCH", "path": "/Users/x", "data": "x"}, "400", "invalidSyntax"),
        (_post_user("dup", "first"), "400", "invalidValue"),
    ],
)
def test_an_invalid_operation_fails_alone(
    scim: TestClient, operation: Any, status: str, scim_type: str | None
) -> None:
    """Its result carries the error; the other operations run (RFC 7644 §3.7.3)."""
    results = _bulk(scim, _post_user("dup", "alice"), operation, _post_user("next", "bob"))
    assert [r["status"] for r in results] == ["201", status, "201"]
    assert results[1]["response"]["status"] == status
    assert results[1]["response"].get("scimType") == scim_type


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"schemas": ["' + BULK_REQUEST.encode() + b'"]}', b'{"Operations": {}}'],
)
def test_a_malformed_bulk_request_is_400_invalidSyntax(scim: TestClient, body: bytes) -> None:
    """No BulkRequest, no job: 400 invalidSyntax (RFC 7644 §3.12)."""
    response = scim.post(BULK, content=body)
    assert (response.status_code, response.json()["scimType"]) == (400, "invalidSyntax")


@pytest.mark.parametrize("value", [0, -1, "1", True, 1.5])
def test_failOnErrors_must_be_a_positive_integer(scim: TestClient, value: object) -> None:
    """An integer count of errors (RFC 7644 §3.7): anything else is 400 invalidValue."""
    response = scim.post(BULK, json={"failOnErrors": value, "Operations": []})
    assert (response.status_code, response.json()["scimType"]) == (400, "invalidValue")


@pytest.mark.parametrize("path", ["/Users", "Users", "/users/", "USERS"])
def test_endpoint_names_are_matched_in_any_case(scim: TestClient, path: str) -> None:
    """As on their own (RFC 7644 §3.7: the operation's single request)."""
    (result,) = _bulk(scim, {**_post_user("a", "alice"), "path": path})
    assert result["status"] == "201"
    assert result["location"].startswith(f"http://scim.test{BASE}/Users/")


def test_a_failed_patch_changes_nothing_of_its_own(scim: TestClient) -> None:
    """A PATCH is all or nothing in a bulk job too (RFC 7644 §3.5.2)."""
    _user(scim, "taken")
    bob = _user(scim, "bob")
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "nickName", "value": "Bobby"},
            {"op": "replace", "path": "userName", "value": "taken"},
        ],
    }
    (result,) = _bulk(scim, {"method": "PATCH", "path": f"/Users/{bob['id']}", "data": patch})
    assert (result["status"], result["response"]["scimType"]) == ("409", "uniqueness")
    assert scim.get(f"{BASE}/Users/{bob['id']}").json() == bob


@pytest.mark.parametrize(
    ("authorization", "operations"),
    [("", []), ("Basic dXNlcjpwYXNz", []), ("Bearer not-a-token", [_post_user("a", "alice")])],
)
def test_a_refused_credential_is_a_401_for_the_whole_request(
    scim: TestClient, authorization: str, operations: list[Any]
) -> None:
    """The job's credential, not an operation, is refused (RFC 7644 §3.12)."""
    request = {"Operations": operations}
    response = scim.post(BULK, json=request, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["status"] == "401"
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_a_declared_length_over_maxPayloadSize_is_refused_unread(scim: TestClient) -> None:
    """A Content-Length over the limit is 413 before the body is read (RFC 7644 §3.7.4)."""
    limit = _bulk_limits(scim)["maxPayloadSize"]
    headers = [
        (b"content-length", str(limit + 1).encode()),
        (b"content-type", b"application/scim+json"),
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "path": BULK,
        "raw_path": BULK.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("scim.test", 80),
        "headers": [*headers, (b"authorization", scim.headers["Authorization"].encode())],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the body was read")

    async def send(message: Message) -> None:
        sent.append(message)

    async def call() -> None:
        await scim.app(scope, receive, send)

    asyncio.run(call())
    assert sent[0]["status"] == 413
    assert f"maxPayloadSize ({limit})" in json.loads(sent[1]["body"])["detail"]


@pytest.mark.parametrize("nick_name", ["see bulkId:x", 'x","bulkId:x"]', 'x\\","bulkId:x'])
def test_a_reference_is_a_whole_value_only(scim: TestClient, nick_name: str) -> None:
    """Only a value starting with "bulkId:" is a reference (RFC 7644 §3.7.2); text is kept."""
    (result,) = _bulk(scim, _post_user("a", "alice", nickName=nick_name))
    assert result["status"] == "201"
    assert scim.get(result["location"]).json()["nickName"] == nick_name
