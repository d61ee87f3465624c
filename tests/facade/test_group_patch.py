"""PATCH on /Groups (RFC 7644 §3.5.2) in the dialects Okta and Entra send:
first the one ModifyGroupRequest each body becomes (scim_facade.group_patch),
then the effect end to end through the facade and a real identity_service."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.protobuf.field_mask_pb2 import FieldMask
from httpx2 import Response
from identity.v1 import group_pb2, group_service_pb2

from scim_facade import group_patch
from scim_facade.errors import ScimError

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Microsoft's schema URN on Entra's groups (its SCIM tutorial), unknown here.
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
UNKNOWN_EXTENSION = "urn:ietf:params:scim:schemas:extension:acme:2.0:Group"
MISSING = "00000000-0000-4000-8000-000000000000"


def _member(member_id: str, kind: str = "members") -> str:
    return f"tenants/-/{kind}/{member_id}"


def _modify(
    *,
    add: tuple[str, ...] = (),
    remove: tuple[str, ...] = (),
    replace: bool = False,
    display_name: str | None = None,
    external_id: str | None = None,
) -> group_service_pb2.ModifyGroupRequest:
    fields = {"display_name": display_name, "external_id": external_id}
    return group_service_pb2.ModifyGroupRequest(
        group=group_pb2.Group(display_name=display_name or "", external_id=external_id or ""),
        update_mask=FieldMask(paths=[name for name, value in fields.items() if value is not None]),
        add_members=[_member(a) if "/" not in a else a for a in add],
        remove_members=[_member(r) for r in remove],
        replace_members=replace,
    )


def _body(*operations: dict[str, Any], schemas: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"schemas": [PATCH_OP, *schemas], "Operations": list(operations)}


def _op(op: str, path: str | None = None, value: Any = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"op": op}
    if path is not None:
        operation["path"] = path
    if value is not None or op.lower() == "replace":
        operation["value"] = value
    return operation


def _values(*ids: str) -> list[dict[str, Any]]:
    return [{"value": member_id} for member_id in ids]


TRANSLATIONS: dict[str, tuple[list[dict[str, Any]], group_service_pb2.ModifyGroupRequest]] = {
    "entra-add": (
        [_op("Add", "members", [{"$ref": None, "value": "a"}, {"value": "b", "type": "User"}])],
        _modify(add=("a", _member("b", "users"))),
    ),
    "no-path-add": ([_op("add", None, {"members": _values("a")})], _modify(add=("a",))),
    "remove-by-filter": ([_op("remove", 'members[value eq "a"]')], _modify(remove=("a",))),
    "remove-by-or": (
        [_op("remove", 'members[value eq "a" or value eq "b"]')],
        _modify(remove=("a", "b")),
    ),
    "entra-remove-values": ([_op("Remove", "members", _values("a"))], _modify(remove=("a",))),
    "remove-all": ([_op("remove", "members")], _modify(replace=True)),
    "okta-replace": ([_op("replace", "members", _values("a"))], _modify(add=("a",), replace=True)),
    "okta-replace-empty": ([_op("replace", "members", [])], _modify(replace=True)),
    "okta-rename": (
        [_op("replace", None, {"id": "ignored", "displayName": "New"})],
        _modify(display_name="New"),
    ),
    "fields": (
        [_op("Replace", "displayName", "New"), _op("add", "externalId", "x")],
        _modify(display_name="New", external_id="x"),
    ),
    "clear-externalId": ([_op("remove", "externalId")], _modify(external_id="")),
    "okta-remove-and-add": (
        [_op("remove", 'members[value eq "a"]'), _op("add", "members", _values("b"))],
        _modify(add=("b",), remove=("a",)),
    ),
    "add-then-remove": (
        [_op("add", "members", _values("a")), _op("remove", 'members[value eq "a"]')],
        _modify(remove=("a",)),
    ),
    "remove-then-add": (
        [_op("remove", 'members[value eq "a"]'), _op("add", "members", _values("a", "a"))],
        _modify(add=("a",)),
    ),
    "replace-then-change": (
        [
            _op("replace", "members", _values("a", "b")),
            _op("remove", 'members[value eq "a"]'),
            _op("add", "members", _values("c")),
        ],
        _modify(add=("b", "c"), replace=True),
    ),
    "any-case": (
        [
            _op("ADD", "Members", [{"Value": "a", "Type": "user"}]),
            _op("Remove", 'MEMBERS[VALUE eq "b"]'),
            _op("REPLACE", "DisplayName", "New"),
        ],
        _modify(add=(_member("a", "users"),), remove=("b",), display_name="New"),
    ),
    "unknown-attributes": (
        [
            _op("replace", f"{UNKNOWN_EXTENSION}:owner", "x"),
            _op("add", None, {"description": "x", f"{UNKNOWN_EXTENSION}:owner": "x"}),
        ],
        _modify(),
    ),
}


@pytest.mark.parametrize(("operations", "expected"), TRANSLATIONS.values(), ids=TRANSLATIONS)
def test_a_patch_becomes_one_modify_group_request(
    operations: list[dict[str, Any]], expected: group_service_pb2.ModifyGroupRequest
) -> None:
    """The operations, in order, fold into one member delta or one new list (RFC 7644 §3.5.2)."""
    assert group_patch.request(_body(*operations, schemas=(ADSCIM,))) == expected


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "add-by-filter": (_op("add", 'members[value eq "a"]', _values("a")), "invalidPath"),
    "replace-by-filter": (_op("replace", 'members[value eq "a"]', _values("b")), "invalidPath"),
    "filter-on-display": (_op("remove", 'members[display eq "Alice"]'), "invalidFilter"),
    "filter-with-and": (_op("remove", 'members[value eq "a" and type eq "User"]'), "invalidFilter"),
    "filter-with-not": (_op("remove", 'members[not (value eq "a")]'), "invalidFilter"),
    "member-sub-attribute": (_op("replace", 'members[value eq "a"].display', "x"), "mutability"),
    "member-value": (_op("add", "members.value", "a"), "mutability"),
    "member-without-value": (_op("add", "members", [{"display": "x"}]), "invalidValue"),
    "members-not-a-list": (_op("add", "members", "a"), "invalidValue"),
    "name-not-a-string": (_op("replace", "displayName", 7), "invalidValue"),
    "remove-displayName": (_op("remove", "displayName"), "mutability"),
    "replace-id": (_op("replace", "id", "x"), "mutability"),
    "unknown-op": (_op("move", "displayName", "x"), "invalidValue"),
    "bad-path": (_op("remove", "members[value eq"), "invalidPath"),
    "no-path-not-an-object": (_op("replace", None, "x"), "invalidValue"),
}


@pytest.mark.parametrize(("operation", "scim_type"), REFUSED.values(), ids=REFUSED)
def test_what_cannot_be_done_without_the_member_list_is_refused(
    operation: dict[str, Any], scim_type: str
) -> None:
    """Unsupported operations are 400 with the RFC's scimType (RFC 7644 §3.12)."""
    with pytest.raises(ScimError) as refused:
        group_patch.request(_body(_op("add", "members", _values("b")), operation))
    assert (refused.value.status, refused.value.scim_type) == (400, scim_type)


def _user(scim: TestClient, user_name: str) -> str:
    response = scim.post("/scim/v2/Users", json={"schemas": [USER], "userName": user_name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def ids(scim: TestClient) -> dict[str, str]:
    """alice, bob, carol, and the group Sales of alice and bob."""
    people = {name: _user(scim, name) for name in ("alice", "bob", "carol")}
    members = _values(people["alice"], people["bob"])
    body = {"schemas": [GROUP], "displayName": "Sales", "members": members}
    response = scim.post("/scim/v2/Groups", json=body)
    assert response.status_code == 201, response.text
    return people | {"group": response.json()["id"], "version": response.json()["meta"]["version"]}


def _patch(scim: TestClient, ids: dict[str, str], *ops: dict[str, Any], **query: str) -> Response:
    url = f"/scim/v2/Groups/{ids['group']}"
    return scim.patch(url, json=_body(*ops, schemas=(ADSCIM,)), params=query)


def _state(scim: TestClient, ids: dict[str, str]) -> tuple[str, set[str]]:
    """The group's displayName and the names of its members."""
    group = scim.get(f"/scim/v2/Groups/{ids['group']}").json()
    names = {member_id: name for name, member_id in ids.items()}
    return group["displayName"], {names[m["value"]] for m in group.get("members", [])}


Ops = Callable[[dict[str, str]], list[dict[str, Any]]]
EFFECTS: dict[str, tuple[Ops, str, set[str]]] = {
    "entra-add": (
        lambda i: [_op("Add", "members", [{"$ref": None, "value": i["carol"]}])],
        "Sales",
        {"alice", "bob", "carol"},
    ),
    "entra-remove": (
        lambda i: [_op("Remove", "members", [{"$ref": None, "value": i["alice"]}])],
        "Sales",
        {"bob"},
    ),
    "remove-by-or": (
        lambda i: [_op("remove", f'members[value eq "{i["alice"]}" or value eq "{i["bob"]}"]')],
        "Sales",
        set(),
    ),
    "okta-replace": (
        lambda i: [_op("replace", "members", _values(i["carol"]))],
        "Sales",
        {"carol"},
    ),
    "okta-replace-empty": (lambda i: [_op("replace", "members", [])], "Sales", set()),
    "remove-all": (lambda i: [_op("remove", "members")], "Sales", set()),
    "okta-rename": (
        lambda i: [_op("replace", None, {"id": i["group"], "displayName": "Sales EMEA"})],
        "Sales EMEA",
        {"alice", "bob"},
    ),
    "okta-remove-and-add": (
        lambda i: [
            _op("remove", f'members[value eq "{i["alice"]}"]'),
            _op("add", "members", _values(i["carol"])),
        ],
        "Sales",
        {"bob", "carol"},
    ),
    "rename-and-add": (
        lambda i: [
            _op("Replace", "displayName", "Sales EMEA"),
            _op("Add", None, {"members": [{"value": i["carol"], "type": "User"}]}),
        ],
        "Sales EMEA",
        {"alice", "bob", "carol"},
    ),
}


@pytest.mark.parametrize(("ops", "name", "members"), EFFECTS.values(), ids=EFFECTS)
def test_patch_changes_the_group_and_answers_204_with_its_new_etag(
    scim: TestClient, ids: dict[str, str], ops: Ops, name: str, members: set[str]
) -> None:
    """PATCH answers 204 No Content and the group's new ETag (RFC 7644
    §3.5.2 allows it; Okta and Entra ID expect it for membership changes),
    so a change to a huge group never echoes its members."""
    response = _patch(scim, ids, *ops(ids))
    assert (response.status_code, response.content) == (204, b""), response.text
    assert _state(scim, ids) == (name, members)
    now = scim.get(f"/scim/v2/Groups/{ids['group']}").json()
    assert response.headers["ETag"] == now["meta"]["version"] != ids["version"]


@pytest.mark.parametrize(
    "query",
    [{"attributes": "displayName,members"}, {"excludedAttributes": "externalId"}],
    ids=["attributes", "excludedAttributes"],
)
def test_patch_answers_200_with_the_group_when_the_request_asks_for_attributes(
    scim: TestClient, ids: dict[str, str], query: dict[str, str]
) -> None:
    """With attributes or excludedAttributes, 200 with the group as asked."""
    response = _patch(scim, ids, _op("add", "members", _values(ids["carol"])), **query)
    assert response.status_code == 200, response.text
    body = response.json()
    shown = scim.get(f"/scim/v2/Groups/{ids['group']}", params=query).json()
    assert body == shown
    assert {m["value"] for m in body["members"]} == {ids["alice"], ids["bob"], ids["carol"]}


def test_re_adding_a_member_or_removing_an_absent_one_succeeds(
    scim: TestClient, ids: dict[str, str]
) -> None:
    """Both IdPs repeat membership changes; a change that changes nothing
    succeeds and keeps the version (issue 3, the dialects IdPs really send)."""
    response = _patch(
        scim,
        ids,
        _op("add", "members", _values(ids["alice"])),
        _op("remove", f'members[value eq "{ids["carol"]}"]'),
    )
    assert response.status_code == 204, response.text
    assert _state(scim, ids) == ("Sales", {"alice", "bob"})
    assert response.headers["ETag"] == ids["version"]


ATOMIC: dict[str, tuple[Callable[[dict[str, str]], dict[str, Any]], int, str]] = {
    "unknown-member": (lambda i: _op("add", "members", _values(MISSING)), 400, "invalidValue"),
    "taken-name": (lambda i: _op("replace", "displayName", "support"), 409, "uniqueness"),
    "unsupported-filter": (
        lambda i: _op("remove", 'members[type eq "User"]'),
        400,
        "invalidFilter",
    ),
}


@pytest.mark.parametrize(("invalid", "status", "scim_type"), ATOMIC.values(), ids=ATOMIC)
def test_a_patch_applies_all_its_operations_or_none(
    scim: TestClient,
    ids: dict[str, str],
    invalid: Callable[[dict[str, str]], dict[str, Any]],
    status: int,
    scim_type: str,
) -> None:
    """One failing operation leaves the group as it was (RFC 7644 §3.5.2)."""
    taken = scim.post("/scim/v2/Groups", json={"schemas": [GROUP], "displayName": "Support"})
    assert taken.status_code == 201
    response = _patch(
        scim,
        ids,
        _op("remove", f'members[value eq "{ids["alice"]}"]'),
        _op("add", "members", _values(ids["carol"])),
        invalid(ids),
    )
    assert (response.status_code, response.json()["scimType"]) == (status, scim_type)
    assert _state(scim, ids) == ("Sales", {"alice", "bob"})


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ({"excludedAttributes": "members"}, {"schemas", "id", "displayName", "meta"}),
        ({"attributes": "members"}, {"schemas", "id", "members"}),
    ],
)
def test_the_patch_answer_follows_attributes_and_excludedAttributes(
    scim: TestClient, ids: dict[str, str], query: dict[str, str], keys: set[str]
) -> None:
    """The answer to PATCH is subject to the attributes parameters (RFC 7644 §3.5.2, §3.9)."""
    response = _patch(scim, ids, _op("add", "members", _values(ids["carol"])), **query)
    assert response.status_code == 200, response.text
    assert set(response.json()) == keys
