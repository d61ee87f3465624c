"""Bodies that are not the JSON object a route reads: invalid JSON or
UTF-8, too deep, a member named twice, wrong JSON types, control
characters. Each is a 400 with the RFC 7644 §3.12 scimType, never a 500,
and changes nothing."""

from typing import Any

import grpc
import orjson
import pytest
from fastapi.testclient import TestClient

from identity_service.store.engine import Database
from scim_facade.strict_json import MAX_JSON_DEPTH
from tests.facade.refusals import (
    BASE,
    ROUTES,
    SEARCH,
    USER,
    Route,
    name,
    tenant_state,
    user_and_group,
)
from tests.helpers import TenantAccess, new_tenant

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BODY_ROUTES = {**ROUTES, "POST /Bulk": ("POST", "/Bulk", dict, 200)}
NOT_JSON = {
    "truncated": b'{"userName": "a"',
    "trailing comma": b'{"userName": "a",}',
    "single quotes": b"{'userName': 'a'}",
    "invalid UTF-8": b'{"userName": "\xff\xfe"}',
    "overlong UTF-8": b'{"userName": "\xc0\xaf"}',
    "lone surrogate escape": b'{"userName": "\\ud800"}',
    "NaN": b'{"userName": NaN}',
    "empty": b"",
    "an array": b"[]",
    "a string": b'"userName"',
    "null": b"null",
    "two documents": b"{} {}",
}
DUPLICATES = {
    "the same name twice": b'{"userName": "a", "userName": "b"}',
    "in another case": b'{"userName": "a", "USERNAME": "b"}',
    "spelt with an escape": b'{"userName": "a", "user\\u004eame": "b"}',
    "inside a value": b'{"userName": "a", "name": {"givenName": "a", "givenName": "b"}}',
    "inside an array": b'{"userName": "a", "emails": [{"value": "a@x", "value": "b@x"}]}',
}


@pytest.fixture
def tenant(db: Database) -> TenantAccess:
    """A fresh tenant whose credential may also read the change log."""
    return new_tenant(db, ("scim", "watch"))


def _refused(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, route: Route, raw: bytes
) -> dict[str, Any]:
    """The error body of `raw` sent to `route`, having checked that nothing changed."""
    method, path, _, _ = route
    user, group = user_and_group(scim)
    before = tenant_state(channel, tenant)
    response = scim.request(method, f"{BASE}{path.format(u=user, g=group)}", content=raw)
    assert response.status_code == 400, response.text
    assert tenant_state(channel, tenant) == before
    body: dict[str, Any] = response.json()
    assert body["status"] == "400"
    return body


@pytest.mark.parametrize("raw", NOT_JSON.values(), ids=NOT_JSON.keys())
@pytest.mark.parametrize("route", BODY_ROUTES.values(), ids=BODY_ROUTES.keys())
def test_a_body_that_is_not_a_json_object_is_400_invalidSyntax(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, route: Route, raw: bytes
) -> None:
    """Not a JSON object in UTF-8 (RFC 8259 §8.1): 400 invalidSyntax (RFC 7644 §3.12)."""
    assert _refused(scim, channel, tenant, route, raw)["scimType"] == "invalidSyntax"


@pytest.mark.parametrize("raw", DUPLICATES.values(), ids=DUPLICATES.keys())
@pytest.mark.parametrize("route", BODY_ROUTES.values(), ids=BODY_ROUTES.keys())
def test_a_member_named_twice_is_400_invalidSyntax(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, route: Route, raw: bytes
) -> None:
    """Names SHOULD be unique (RFC 8259 §4), in any case (RFC 7643 §2.1): refused, not guessed."""
    assert _refused(scim, channel, tenant, route, raw)["scimType"] == "invalidSyntax"


def test_distinct_names_that_look_alike_are_accepted(scim: TestClient) -> None:
    """Only a name given twice is refused, not a value that looks like one (RFC 8259 §7)."""
    raw = b'{"schemas": ["%s"], "userName": "%s", "title": "a \\"b\\": c", "nickName": "b"}' % (
        USER.encode(),
        name().encode(),
    )
    response = scim.post(f"{BASE}/Users", content=raw)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == 'a "b": c'


def _nested(depth: int) -> Any:
    """A JSON value `depth` levels deep, alternating objects and arrays."""
    value: Any = {}
    for level in range(depth - 1):
        value = [value] if level % 2 else {"x": value}
    return value


@pytest.mark.parametrize(("depth", "status"), [(MAX_JSON_DEPTH, 201), (MAX_JSON_DEPTH + 1, 400)])
def test_json_nested_past_the_limit_is_400_invalidSyntax(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, depth: int, status: int
) -> None:
    """MAX_JSON_DEPTH levels (the body itself is one) pass, one more is 400 invalidSyntax."""
    before = tenant_state(channel, tenant)
    body = {"schemas": [USER], "userName": name(), "unknownAttribute": _nested(depth - 1)}
    response = scim.post(f"{BASE}/Users", content=orjson.dumps(body))
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["scimType"] == "invalidSyntax"
        assert tenant_state(channel, tenant) == before


GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _patch(value: Any, path: Any = "displayName", op: Any = "replace") -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]}


_U = {"schemas": [USER], "userName": "a"}
_G = {"schemas": [GROUP], "displayName": "a"}
_BAD = "invalidValue"
# Case -> (route, body, scimType).
WRONG_TYPES: dict[str, tuple[str, dict[str, Any], str]] = {
    "userName a number": ("POST /Users", {**_U, "userName": 5}, _BAD),
    "userName a list": ("POST /Users", {**_U, "userName": ["a"]}, _BAD),
    "userName null": ("POST /Users", {**_U, "userName": None}, _BAD),
    "active not a boolean": ("PUT /Users", {**_U, "active": "x"}, _BAD),
    "emails an object": ("POST /Users", {**_U, "emails": {}}, _BAD),
    "emails of strings": ("POST /Users", {**_U, "emails": ["a@x"]}, _BAD),
    "name a string": ("POST /Users", {**_U, "name": "B J"}, _BAD),
    "schemas a string": ("POST /Users", {**_U, "schemas": USER}, _BAD),
    "manager a number": ("POST /Users", {**_U, ENTERPRISE: {"manager": 7}}, _BAD),
    "displayName a list": ("POST /Groups", {**_G, "displayName": ["a"]}, _BAD),
    "members a string": ("PUT /Groups", {**_G, "members": "x"}, _BAD),
    "PATCH value of a user a list": ("PATCH /Users", _patch(["a"]), _BAD),
    "PATCH Operations an object": ("PATCH /Users", {"schemas": [PATCH_OP], "Operations": {}}, _BAD),
    "PATCH op a number": ("PATCH /Groups", _patch("a", op=1), _BAD),
    "PATCH path a number": ("PATCH /Groups", _patch("a", path=1), _BAD),
    # RFC 9865 §2.1 and RFC 7644 §3.4.2.2 have their own scimTypes.
    "search count a string": ("POST /.search", {"schemas": [SEARCH], "count": "x"}, "invalidCount"),
    "search filter a number": (
        "POST /Users/.search",
        {"schemas": [SEARCH], "filter": 1},
        "invalidFilter",
    ),
}


@pytest.mark.parametrize(
    ("route", "body", "scim_type"), WRONG_TYPES.values(), ids=WRONG_TYPES.keys()
)
def test_a_value_of_the_wrong_json_type_is_400(
    scim: TestClient,
    channel: grpc.Channel,
    tenant: TenantAccess,
    route: str,
    body: dict[str, Any],
    scim_type: str,
) -> None:
    """An attribute of another type than its schema's is 400 (RFC 7643 §2.3, RFC 7644 §3.12)."""
    error = _refused(scim, channel, tenant, ROUTES[route], orjson.dumps(body))
    assert error["scimType"] == scim_type


CONTROLS = {"NUL": "\x00", "unit separator": "\x1f", "DEL": "\x7f", "NEL (C1)": "\x85"}


@pytest.mark.parametrize("control", CONTROLS.values(), ids=CONTROLS.keys())
@pytest.mark.parametrize("attribute", ["userName", "externalId", "displayName", "title"])
def test_a_control_character_in_a_user_attribute_is_400_invalidValue(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, attribute: str, control: str
) -> None:
    """No Unicode control character (general category Cc) in a string value: 400 invalidValue."""
    body = {"schemas": [USER], "userName": name(), attribute: f"a{control}b"}
    error = _refused(scim, channel, tenant, ROUTES["POST /Users"], orjson.dumps(body))
    assert error["scimType"] == "invalidValue"


@pytest.mark.parametrize("control", CONTROLS.values(), ids=CONTROLS.keys())
def test_a_control_character_in_a_group_name_is_400_invalidValue(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, control: str
) -> None:
    """A group's displayName names it: no control character (400 invalidValue)."""
    body = {"schemas": [GROUP], "displayName": f"a{control}b"}
    error = _refused(scim, channel, tenant, ROUTES["POST /Groups"], orjson.dumps(body))
    assert error["scimType"] == "invalidValue"


@pytest.mark.parametrize("text", ["line 1\nline 2", "a\tb"], ids=["newline", "tab"])
def test_tab_and_newline_are_kept_in_values_that_are_not_names(scim: TestClient, text: str) -> None:
    """A postal address or a title may hold a tab or a line break (RFC 7643 §4.1.2 formatted)."""
    address = {"formatted": text, "type": "work"}
    body = {"schemas": [USER], "userName": name(), "title": text, "addresses": [address]}
    response = scim.post(f"{BASE}/Users", json=body)
    assert response.status_code == 201, response.text
    assert (response.json()["title"], response.json()["addresses"][0]["formatted"]) == (text, text)


@pytest.mark.parametrize("text", ["a\nb", "a\tb"], ids=["newline", "tab"])
def test_tab_and_newline_are_refused_in_names(
    scim: TestClient, channel: grpc.Channel, tenant: TenantAccess, text: str
) -> None:
    """userName identifies a user to people and IdPs: no line break or tab (400 invalidValue)."""
    body = {"schemas": [USER], "userName": text}
    error = _refused(scim, channel, tenant, ROUTES["POST /Users"], orjson.dumps(body))
    assert error["scimType"] == "invalidValue"


# Query -> (status, scimType) of GET /Users with it.
QUERIES = {
    "filter=%FF": (400, "invalidFilter"),
    "filter=userName%20eq%20%22a%00%22": (400, "invalidFilter"),
    "filter=userName%20eq%20%22%FF%22": (200, None),
    "attributes=%FF": (200, None),
    "excludedAttributes=%00": (200, None),
    "sortBy=%00": (400, "invalidValue"),
    "cursor=%FF": (400, "invalidCursor"),
    "count=1e309": (400, "invalidCount"),
    "count=99999999999999999999": (200, None),
    "startIndex=99999999999999999999": (200, None),
}


@pytest.mark.parametrize(("query", "answer"), QUERIES.items(), ids=QUERIES.keys())
def test_a_malformed_query_parameter_is_a_4xx_or_an_empty_page_never_a_500(
    scim: TestClient, query: str, answer: tuple[int, str | None]
) -> None:
    """Invalid UTF-8, NUL and out-of-range numbers in a query: 400 with the RFC's scimType, or
    an empty page (RFC 7644 §3.4.2, §3.12; RFC 9865 §2.1)."""
    response = scim.get(f"{BASE}/Users?{query}")
    assert (response.status_code, response.json().get("scimType")) == answer, response.text


def test_a_startIndex_past_every_result_is_an_empty_page_whatever_its_size(
    scim: TestClient,
) -> None:
    """A startIndex larger than any JSON integer type is the empty last page (RFC 7644 §3.4.2.4)."""
    page = scim.get(f"{BASE}/Users", params={"startIndex": 10**20}).json()
    assert (page["itemsPerPage"], page["Resources"], page["startIndex"]) == (0, [], 2**63 - 1)


# An id in the path -> (status, scimType).
IDS = {
    "%FF": (404, None),
    "%FF%FE": (404, None),
    "a%2Fb": (404, None),
    "%00": (400, "invalidValue"),
}


@pytest.mark.parametrize(("resource_id", "answer"), IDS.items(), ids=IDS.keys())
@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_a_malformed_id_in_the_path_is_404_or_400_never_a_500(
    scim: TestClient, resource: str, resource_id: str, answer: tuple[int, str | None]
) -> None:
    """An id no resource can have is not found (RFC 7644 §3.4.1); one holding a control
    character is not an id at all (400, on PostgreSQL too, whose text cannot hold NUL)."""
    response = scim.get(f"{BASE}/{resource}/{resource_id}")
    assert (response.status_code, response.json().get("scimType")) == answer, response.text


@pytest.mark.parametrize("resource_id", ["%C3%A9", "%FF", "%00", "%0A"])
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_a_write_to_an_id_outside_printable_ascii_is_a_4xx(
    scim: TestClient, resource: str, method: str, resource_id: str
) -> None:
    """The request's path goes to identity_service with the write (its change log's actor);
    a path outside ASCII still gets the write's own answer (404 or 400), never a 500."""
    body = {
        "PUT": {"schemas": [USER], "userName": "x"}
        if resource == "Users"
        else {"schemas": [GROUP], "displayName": "x"},
        "PATCH": _patch("x"),
        "DELETE": None,
    }[method]
    response = scim.request(method, f"{BASE}/{resource}/{resource_id}", json=body)
    expected = (400, "invalidValue") if resource_id in ("%00", "%0A") else (404, None)
    assert (response.status_code, response.json().get("scimType")) == expected, response.text


def test_a_forwarded_client_address_outside_ascii_does_not_fail_the_write(
    scim: TestClient,
) -> None:
    """X-Forwarded-For is recorded with the write; a byte outside ASCII (RFC 9110 §5.5 obs-text)
    is percent-encoded for gRPC metadata, and the write succeeds."""
    body = {"schemas": [USER], "userName": name()}
    headers = {"X-Forwarded-For": b"203.0.113.9\xe9"}
    response = scim.post(f"{BASE}/Users", json=body, headers=headers)  # type: ignore[arg-type]
    assert response.status_code == 201, response.text
