"""Generated requests against the facade in front of the real identity_service:
filters, attribute paths, PATCH bodies, resources and raw bytes. Whatever
arrives, the answer is never a 5xx, and a refused request (4xx) leaves the
tenant's data, read through identity.v1, exactly as it was."""

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.facade.fuzzing import (
    FUZZ,
    GROUP,
    SEARCH,
    USER,
    TenantDump,
    attribute_path,
    check_answer,
    dump,
    group_body,
    patch_body,
    scim_filter,
    text,
    user_body,
)
from tests.helpers import Stubs, TenantAccess

Seeded = tuple[TestClient, dict[str, str], Callable[[], TenantDump]]


@pytest.fixture
def seeded(scim: TestClient, stubs: Stubs, tenant: TenantAccess) -> Seeded:
    """A tenant with two users and a group holding both: the facade as its
    IdP calls it, the ids by role, and a function that dumps its data."""
    ids = {}
    for user_name in ("alice", "Bj\u00f6rn"):
        body = {"schemas": [USER], "userName": user_name, "emails": [{"value": "a@example.com"}]}
        ids[user_name] = scim.post("/scim/v2/Users", json=body).json()["id"]
    members = [{"value": v} for v in ids.values()]
    group = {"schemas": [GROUP], "displayName": "Staff", "members": members}
    ids["group"] = scim.post("/scim/v2/Groups", json=group).json()["id"]
    return scim, ids, lambda: dump(stubs, tenant)


def _send(seeded: Seeded, method: str, url: str, **request: Any) -> None:
    scim, _, dumped = seeded
    before = None if method == "GET" else dumped()  # a GET changes nothing to compare
    response = scim.request(method, url, **request)
    event(
        f"{response.status_code} {response.json().get('scimType', '') if response.content else ''}"
    )
    check_answer(response, before, dumped)


@pytest.mark.parametrize("resources", ["Users", "Groups"])
@settings(FUZZ, max_examples=25)
@given(
    expression=scim_filter,
    sort_by=st.one_of(st.none(), attribute_path),
    shown=st.one_of(st.none(), attribute_path),
    start=st.one_of(st.none(), st.integers(-5, 2**40).map(str), text),
)
def test_any_list_query_is_answered_without_a_server_error(
    seeded: Seeded,
    resources: str,
    expression: str,
    sort_by: str | None,
    shown: str | None,
    start: str | None,
) -> None:
    """GET with any filter, sortBy, attributes and startIndex (RFC 7644
    §3.4.2): a page or a 400 (invalidFilter, invalidValue), never a 5xx."""
    params = {"filter": expression, "sortBy": sort_by, "attributes": shown, "startIndex": start}
    query = {k: v for k, v in params.items() if v is not None}
    _send(seeded, "GET", f"/scim/v2/{resources}", params=query)


@pytest.mark.parametrize("endpoint", ["/.search", "/Users/.search", "/Groups/.search"])
@FUZZ
@given(
    expression=st.one_of(scim_filter, st.integers(), st.none()),
    paths=st.one_of(st.lists(attribute_path, max_size=2), text),
    count=st.one_of(st.integers(-5, 2**40), text, st.none()),
)
def test_any_search_request_is_answered_without_a_server_error(
    seeded: Seeded, endpoint: str, expression: Any, paths: Any, count: Any
) -> None:
    """POST .search with any SearchRequest (RFC 7644 §3.4.3)."""
    body = {"schemas": [SEARCH], "filter": expression, "attributes": paths, "count": count}
    _send(seeded, "POST", f"/scim/v2{endpoint}", json=body)


@pytest.mark.parametrize("patched", ["alice", "group"])
@FUZZ
@given(data=st.data())
def test_any_patch_is_all_or_nothing_and_never_a_server_error(
    seeded: Seeded, patched: str, data: st.DataObject
) -> None:
    """PATCH with any operations (RFC 7644 §3.5.2): applied whole, or refused
    with a 4xx that changed nothing."""
    _, ids, _ = seeded
    body = data.draw(patch_body(list(ids.values())))
    resources = "Groups" if patched == "group" else "Users"
    _send(seeded, "PATCH", f"/scim/v2/{resources}/{ids[patched]}", json=body)


@pytest.mark.parametrize("method", ["POST", "PUT"])
@FUZZ
@given(body=user_body())
def test_any_user_body_is_answered_without_a_server_error(
    seeded: Seeded, method: str, body: dict[str, Any]
) -> None:
    """POST and PUT of any User (RFC 7644 §3.3, §3.5.1)."""
    _, ids, _ = seeded
    url = "/scim/v2/Users" + (f"/{ids['alice']}" if method == "PUT" else "")
    _send(seeded, method, url, json=body)


@pytest.mark.parametrize("method", ["POST", "PUT"])
@FUZZ
@given(data=st.data())
def test_any_group_body_is_answered_without_a_server_error(
    seeded: Seeded, method: str, data: st.DataObject
) -> None:
    """POST and PUT of any Group (RFC 7644 §3.3, §3.5.1)."""
    _, ids, _ = seeded
    body = data.draw(group_body(list(ids.values())))
    url = "/scim/v2/Groups" + (f"/{ids['group']}" if method == "PUT" else "")
    _send(seeded, method, url, json=body)


_raw = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40).map(str.encode),
    st.sampled_from([b"", b"{", b"[]", b"null", b'{"a":1,"a":2}', b'{"userName":"\xff"}']),
    st.builds(lambda v: json.dumps(v).encode(), st.lists(st.integers(), max_size=3)),
)


@pytest.mark.parametrize(
    ("method", "where"),
    [
        ("POST", "/Users"),
        ("PUT", "/Users/{alice}"),
        ("PATCH", "/Users/{alice}"),
        ("POST", "/Groups"),
        ("PATCH", "/Groups/{group}"),
        ("POST", "/Bulk"),
        ("POST", "/.search"),
    ],
)
@settings(FUZZ, max_examples=6)
@given(raw=_raw)
def test_any_bytes_as_a_body_are_refused_without_a_server_error(
    seeded: Seeded, method: str, where: str, raw: bytes
) -> None:
    """Bodies that are not a JSON object (invalid JSON or UTF-8, RFC 7644
    §3.12 invalidSyntax) are 400 and change nothing."""
    _, ids, _ = seeded
    _send(seeded, method, "/scim/v2" + where.format(**ids), content=raw)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("resources", ["Users", "Groups"])
@settings(FUZZ, max_examples=10)
@given(resource_id=text.filter(lambda t: t not in ("", ".search")))
def test_any_resource_id_is_answered_without_a_server_error(
    seeded: Seeded, method: str, resources: str, resource_id: str
) -> None:
    """Any id in the path, percent-encoded as a client would: a 404 or
    another 4xx, never a 5xx, and nothing changed (RFC 7644 §3.12)."""
    bodies = {"PUT": {"schemas": [USER], "userName": "x"}, "PATCH": {"Operations": []}}
    url = f"/scim/v2/{resources}/{urllib.parse.quote(resource_id, safe='')}"
    _send(seeded, method, url, json=bodies.get(method))
