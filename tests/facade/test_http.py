"""HTTP-level rules of the facade (RFC 7644 §3.1, §3.8, §3.11, §3.12): media
types, endpoint names in any case, SCIM errors for every non-2xx, /Me, and
503 with Retry-After when identity_service cannot be reached."""

import socket
import time
from collections.abc import Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient

from scim_facade.app import create_app
from scim_facade.settings import Settings

BASE = "/scim/v2"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _user(name: str) -> dict[str, object]:
    return {"schemas": [CORE], "userName": name}


def _assert_scim_error(response: httpx2.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/scim+json"
    body: dict[str, object] = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    return body


@pytest.mark.parametrize(
    "content_type",
    [
        "application/scim+json",
        "application/json",
        "application/scim+json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
    ],
)
def test_a_body_in_scim_or_plain_json_is_accepted(scim: TestClient, content_type: str) -> None:
    """Requests may be application/scim+json or application/json (RFC 7644 §3.1, §8.1)."""
    response = scim.post(
        f"{BASE}/Users", json=_user("mediatype"), headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/scim+json"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/Users"), ("PUT", "/Users/some-id"), ("PATCH", "/Users/some-id")],
)
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_another_media_type_on_a_body_is_415(
    scim: TestClient, method: str, path: str, content_type: str
) -> None:
    """A body that is neither SCIM nor plain JSON is 415 with a SCIM error (RFC 7644 §3.12)."""
    response = scim.request(
        method, f"{BASE}{path}", content=b"{}", headers={"Content-Type": content_type}
    )
    _assert_scim_error(response, 415)


@pytest.mark.parametrize("path", ["/users", "/USERS", "/Users/", "/uSeRs/", "/users?count=1"])
def test_resource_paths_match_in_any_case_and_with_a_trailing_slash(
    scim: TestClient, path: str
) -> None:
    """Entra writes "/users"; endpoint names are matched case-insensitively (RFC 7644 §3.1)."""
    response = scim.get(f"{BASE}{path}")
    assert response.status_code == 200, response.text
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]


def test_a_resource_path_in_another_case_reaches_the_resource(scim: TestClient) -> None:
    """GET /users/{id}/ returns the user created through /Users (RFC 7644 §3.4.1)."""
    created = scim.post(f"{BASE}/Users", json=_user("anycase")).json()
    response = scim.get(f"{BASE}/USERS/{created['id']}/")
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]


@pytest.mark.parametrize("path", ["/Nothing", "/Users/a/b", "/v1/Users", ""])
def test_an_unknown_path_is_404_with_a_scim_error(scim: TestClient, path: str) -> None:
    """Every non-2xx carries a SCIM Error with status as a string (RFC 7644 §3.12)."""
    _assert_scim_error(scim.get(f"{BASE}{path}"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/Users"),
        ("PUT", "/Users"),
        ("PATCH", "/Users"),
        ("POST", "/Users/some-id"),
        ("POST", "/ServiceProviderConfig"),
        ("DELETE", "/Schemas"),
        ("PUT", "/ResourceTypes/User"),
    ],
)
def test_a_method_a_path_does_not_have_is_405_with_allow(
    scim: TestClient, method: str, path: str
) -> None:
    """A wrong method is 405 with a SCIM error and the Allow header (RFC 9110 §15.5.6)."""
    response = scim.request(method, f"{BASE}{path}", content=b"{}")
    _assert_scim_error(response, 405)
    assert response.headers["allow"]


@pytest.mark.parametrize("body", [b"{not json", b"", b'"a string"', b"[1, 2]", b"{'a': 1}"])
def test_a_body_that_is_not_a_json_object_is_400_invalid_syntax(
    scim: TestClient, body: bytes
) -> None:
    """Unparsable JSON is 400 invalidSyntax (RFC 7644 §3.12)."""
    error = _assert_scim_error(scim.post(f"{BASE}/Users", content=body), 400)
    assert error["scimType"] == "invalidSyntax"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_me_is_501_for_every_method(scim: TestClient, method: str) -> None:
    """/Me is not implemented: 501 with a SCIM error (RFC 7644 §3.11)."""
    response = scim.request(method, f"{BASE}/Me", content=b"{}" if method != "GET" else None)
    _assert_scim_error(response, 501)


def test_me_without_a_token_is_501_too(facade: TestClient) -> None:
    """/Me names no resource, so there is nothing for a token to unlock (RFC 7644 §3.11)."""
    _assert_scim_error(facade.get(f"{BASE}/me", headers={"Authorization": ""}), 501)


@pytest.mark.parametrize(
    "authorization", ["", "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-known-token"]
)
def test_a_missing_or_wrong_token_is_401_with_a_scim_error(
    facade: TestClient, authorization: str
) -> None:
    """401 carries a SCIM error and WWW-Authenticate (RFC 7644 §2, RFC 6750 §3)."""
    response = facade.get(f"{BASE}/Users", headers={"Authorization": authorization})
    _assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.fixture
def unreachable() -> Iterator[TestClient]:
    """The facade in front of a port nobody listens on, with a 1 s deadline."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(identity_target=f"127.0.0.1:{port}", identity_timeout_seconds=1)
    with TestClient(create_app(settings), base_url="http://scim.test") as client:
        client.headers.update({"Authorization": "Bearer any", "Content-Type": "application/json"})
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/Users", None),
        ("GET", "/Users/some-id", None),
        ("POST", "/Users", b'{"schemas": ["' + CORE.encode() + b'"], "userName": "x"}'),
        ("DELETE", "/Users/some-id", None),
    ],
)
def test_an_unreachable_identity_service_is_503_with_retry_after(
    unreachable: TestClient, method: str, path: str, body: bytes | None
) -> None:
    """IdPs retry a 503 after Retry-After; it comes within the deadline (RFC 7644 §3.12)."""
    started = time.monotonic()
    response = unreachable.request(method, f"{BASE}{path}", content=body)
    assert time.monotonic() - started < 3
    _assert_scim_error(response, 503)
    assert int(response.headers["retry-after"]) > 0
