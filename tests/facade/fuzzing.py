"""What the fuzz tests share: hypothesis strategies for the SCIM languages
(filters, attribute paths, PATCH bodies, resources), a dump of a tenant's
data read through identity.v1, and the property every answer must have."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from identity.v1 import group_service_pb2, user_service_pb2

from tests.helpers import Stubs, TenantAccess

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# Few examples, derandomized: the suite runs on two cores, and a fixed
# sequence of examples makes a failure reproduce on the next run.
FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text that tries hard: ASCII, quotes and backslashes, combining marks,
# case pairs whose folding expands, controls, and lone surrogates' neighbours.
_SYNTAX = ['"', "\\", "\\u0000", "'", "(", ")", "[", "]", " ", "\t", "\n", "%", "_", "*", ".", ":"]
_UNICODE = ["\u0301", "\u0345", "\u00df", "\u1e9e", "\u0130", "\ufb01", "\u212b", "\u01f0"]
_CONTROL = ["\ufeff", "\x00", "\x1f", "\x7f", "\u2028", "\U0001f600", "\uffff"]
_TRICKY = st.sampled_from([*_SYNTAX, *_UNICODE, *_CONTROL])
text = st.one_of(
    st.text(max_size=12),
    st.lists(st.one_of(_TRICKY, st.text("abcAB", max_size=3)), max_size=6).map("".join),
)
_NAMES = ["userName", "displayName", "externalId", "id", "active", "title", "emails", "members"]
_NAMES += ["name", "meta", "groups", "addresses", "phoneNumbers", "nickName", "x509Certificates"]
_SUBS = ["value", "type", "primary", "display", "givenName", "familyName", "created", "$ref"]
_SUBS += ["lastModified", "department", "manager", "streetAddress"]
_URNS = [USER, GROUP, ENTERPRISE, "urn:acme:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:X"]
name = st.one_of(st.sampled_from(_NAMES), st.from_regex(r"\A[A-Za-z$][\w$-]{0,8}\Z"), text)
attribute_path = st.builds(
    lambda urn, attr, sub: f"{urn + ':' if urn else ''}{attr}{'.' + sub if sub else ''}",
    st.one_of(st.none(), st.sampled_from(_URNS)),
    name,
    st.one_of(st.none(), st.sampled_from(_SUBS), text),
)
_OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Sw", "zz"]
_literal = st.one_of(
    text.map(json.dumps),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "false", "null", "True", '"2024-01-01T00:00:00Z"', "bare", '"']),
)
_KNOWN = ["userName", "displayName", "externalId", "id", "title", "emails.value", "emails"]
_KNOWN += ["name.givenName", "meta.created", "active", "members.value", f"{ENTERPRISE}:department"]


def _compared(paths: st.SearchStrategy[str], ops: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda p, o, v: f"{p} {o} {v}", paths, st.sampled_from(ops), _literal)


_comparison = st.one_of(
    _compared(attribute_path, _OPERATORS),
    # Attributes that exist, so the value reaches the database rather than a 400.
    _compared(st.sampled_from(_KNOWN), _OPERATORS[:9]),
    attribute_path.map(lambda p: f"{p} pr"),
)


def _combined(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["and", "or"]), inner),
        inner.map(lambda f: f"not ({f})"),
        inner.map(lambda f: f"({f})"),
        st.builds(lambda p, f: f"{p}[{f}]", st.sampled_from(["emails", "members", "x"]), inner),
    )


_grammatical = st.recursive(_comparison, _combined, max_leaves=6)
# Mostly grammatical filters, some cut short or spliced with tricky text.
scim_filter = st.one_of(
    _grammatical,
    st.builds(lambda f, n: f[:n], _grammatical, st.integers(0, 40)),
    st.builds(lambda f, t: f + t, _grammatical, text),
    text,
)

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(name, text), inner, max_size=3)
    ),
    max_leaves=8,
)


def _members(ids: list[str]) -> st.SearchStrategy[Any]:
    known = st.sampled_from(ids) if ids else text
    entry = st.fixed_dictionaries({"value": st.one_of(known, text)}, optional={"type": text})
    return st.one_of(st.lists(entry, max_size=3), json_value)


_OPS = st.sampled_from(["add", "remove", "replace", "Add", "REPLACE"])
word = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=10)
# Paths an IdP sends, with values of their type: most such operations apply.
_TYPED_PATHS: dict[str, st.SearchStrategy[Any]] = {
    "active": st.one_of(st.booleans(), st.sampled_from(["True", "false"])),
    "displayName": word,
    "title": word,
    "userName": word,
    "externalId": word,
    "name.givenName": word,
    'emails[type eq "work"].value': word,
    "emails": st.lists(st.fixed_dictionaries({"value": word, "type": text}), max_size=2),
    f"{ENTERPRISE}:department": word,
    f"{ENTERPRISE}:manager": st.fixed_dictionaries({"value": word}),
}


def _typed_operation(ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    def member(chosen: str) -> str:
        return f'members[value eq "{chosen}"]'

    typed = [st.tuples(st.just(k), v) for k, v in _TYPED_PATHS.items()]
    members = st.tuples(st.just("members"), _members(ids))
    filtered = st.tuples(st.sampled_from(ids).map(member), st.none()) if ids else members
    pair = st.one_of(*typed, members, filtered)
    return st.builds(lambda op, pv: {"op": op, "path": pv[0], "value": pv[1]}, _OPS, pair)


def patch_body(ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """A PatchOp (RFC 7644 §3.5.2): half of the operations as IdPs send them
    (known paths, values of their type, members among `ids`), half with ops
    in any case, paths with and without value filters, values of any type."""
    path = st.one_of(attribute_path, scim_filter.map(lambda f: f"members[{f}]"), text)
    value = st.one_of(json_value, _members(ids))
    anything = st.fixed_dictionaries(
        {"op": st.one_of(_OPS, st.sampled_from(["move", ""]))},
        optional={"path": path, "value": value},
    )
    operation = st.one_of(_typed_operation(ids), anything)
    return st.fixed_dictionaries(
        {"Operations": st.one_of(st.lists(operation, min_size=1, max_size=4), json_value)},
        optional={"schemas": st.sampled_from([[PATCH_OP], [PATCH_OP], ["urn:x"]])},
    )


def user_body() -> st.SearchStrategy[dict[str, Any]]:
    """A User (RFC 7643 §4.1) with attributes of the right and wrong types."""
    return st.fixed_dictionaries(
        {"schemas": st.sampled_from([[USER], [USER, ENTERPRISE], []]), "userName": text},
        optional={
            "active": st.one_of(st.booleans(), json_value),
            "displayName": text,
            "externalId": text,
            "name": st.one_of(st.fixed_dictionaries({}, optional={"givenName": text}), json_value),
            "emails": st.one_of(st.lists(st.fixed_dictionaries({"value": text}), max_size=2)),
            ENTERPRISE: st.one_of(st.fixed_dictionaries({"department": text}), json_value),
            "id": text,
            "groups": json_value,
        },
    )


def group_body(ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """A Group (RFC 7643 §4.2) with members among `ids` and beyond."""
    return st.fixed_dictionaries(
        {"schemas": st.sampled_from([[GROUP], []]), "displayName": st.one_of(text, json_value)},
        optional={"members": _members(ids), "externalId": text},
    )


@dataclass(frozen=True)
class TenantDump:
    """Everything identity.v1 shows of a tenant, as serialized messages."""

    users: tuple[bytes, ...]
    groups: tuple[bytes, ...]
    members: tuple[bytes, ...]
    change_cursor: str


def _pages(call: Callable[[str], Any], field: str) -> Iterator[Any]:
    token = ""
    while True:
        response = call(token)
        yield from getattr(response, field)
        token = response.next_page_token
        if not token:
            return


def _bytes(messages: Iterator[Message]) -> tuple[bytes, ...]:
    return tuple(m.SerializeToString(deterministic=True) for m in messages)


def dump(stubs: Stubs, tenant: TenantAccess) -> TenantDump:
    """Every user and group (deleted ones too), every membership, and the
    cursor of the change log's last record."""
    meta, parent = tenant.metadata, tenant.parent
    list_users = user_service_pb2.ListUsersRequest
    list_groups = group_service_pb2.ListGroupsRequest

    def users(token: str) -> Any:
        request = list_users(parent=parent, page_size=500, page_token=token, show_deleted=True)
        return stubs.users.ListUsers(request, metadata=meta)

    def groups(token: str) -> Any:
        request = list_groups(parent=parent, page_size=500, page_token=token, show_deleted=True)
        return stubs.groups.ListGroups(request, metadata=meta)

    all_groups = list(_pages(groups, "groups"))
    members = [
        member
        for group in all_groups
        if not group.HasField("delete_time")
        for member in _group_members(stubs, tenant, group.name)
    ]
    cursor = users("").change_cursor
    return TenantDump(
        _bytes(_pages(users, "users")), _bytes(iter(all_groups)), _bytes(iter(members)), cursor
    )


def _group_members(stubs: Stubs, tenant: TenantAccess, group: str) -> Iterator[Any]:
    def page(token: str) -> Any:
        request = group_service_pb2.ListMembersRequest(
            parent=group, page_size=500, page_token=token
        )
        return stubs.groups.ListMembers(request, metadata=tenant.metadata)

    return _pages(page, "members")


def check_answer(response: Any, before: TenantDump | None, after: Callable[[], TenantDump]) -> None:
    """The property: never a 5xx; a refused request (4xx) answers a SCIM
    error (RFC 7644 §3.12) and leaves the tenant's data exactly as it was."""
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        assert ERROR in response.json()["schemas"], response.text
        if before is not None:
            assert after() == before, response.text
