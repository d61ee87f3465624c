"""Properties of the two languages the facade translates: a SCIM User keeps
every supported attribute through identity.v1 (SCIM -> proto -> SCIM is the
identity), and the filters it sends to identity_service read back the same
(parse -> render -> parse is stable)."""

import base64
import json
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scim2_models import ScimFilter

from scim_facade import parsing
from scim_facade.mapping import users as mapping

BASE_URL = "http://scim.test/scim/v2"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SUPPORTED = (
    "userName",
    "externalId",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
    ENTERPRISE,
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=12
)
slug = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10)
url = slug.map(lambda s: f"https://example.com/{s}")
certificate = st.binary(min_size=1, max_size=24).map(lambda b: base64.b64encode(b).decode())


def _optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects holding any subset of `fields`."""
    return st.fixed_dictionaries({}, optional=fields)


def _multi_valued(value: st.SearchStrategy[str], **extra: st.SearchStrategy[Any]) -> Any:
    """Distinct entries, at most one of them primary (RFC 7643 §2.4)."""
    entry = st.fixed_dictionaries(
        {"value": value},
        optional={"display": text, "type": slug, "primary": st.booleans(), **extra},
    )
    entries = st.lists(entry, min_size=1, max_size=3, unique_by=lambda e: e["value"])
    return entries.map(_one_primary)


def _one_primary(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = False
    for entry in entries:
        if entry.get("primary"):
            entry["primary"], seen = not seen, True
    return entries


def _but_primary(entry: dict[str, Any]) -> str:
    """What tells entries apart: re-adding a value only marks it (RFC 7644 §3.5.2.1)."""
    return json.dumps({k: v for k, v in entry.items() if k != "primary"}, sort_keys=True)


address = _optional(
    formatted=text,
    streetAddress=text,
    locality=text,
    region=text,
    postalCode=text,
    country=st.sampled_from(["US", "FR", "JP", "BR"]),
    type=st.sampled_from(["work", "home", "other"]),
    primary=st.booleans(),
).filter(lambda a: any(k != "primary" for k in a))

users = st.fixed_dictionaries(
    {"schemas": st.just([CORE, ENTERPRISE]), "userName": text, "active": st.booleans()},
    optional={
        "externalId": text,
        "name": _optional(
            formatted=text,
            familyName=text,
            givenName=text,
            middleName=text,
            honorificPrefix=text,
            honorificSuffix=text,
        ).filter(bool),
        "displayName": text,
        "nickName": text,
        "profileUrl": url,
        "title": text,
        "userType": text,
        "preferredLanguage": st.sampled_from(["en-US", "fr", "da, en-gb;q=0.8"]),
        "locale": st.sampled_from(["en-US", "fr-CA", "ja-JP"]),
        "timezone": st.sampled_from(["America/Los_Angeles", "Europe/Paris", "UTC"]),
        "emails": _multi_valued(st.emails()),
        "phoneNumbers": _multi_valued(st.from_regex(r"\+?[0-9 ()-]{3,15}", fullmatch=True)),
        "ims": _multi_valued(text),
        "photos": _multi_valued(url),
        "addresses": st.lists(address, min_size=1, max_size=3, unique_by=_but_primary).map(
            _one_primary
        ),
        "entitlements": _multi_valued(text),
        "roles": _multi_valued(text),
        "x509Certificates": _multi_valued(certificate),
        ENTERPRISE: _optional(
            employeeNumber=text,
            costCenter=text,
            organization=text,
            division=text,
            department=text,
            manager=st.uuids().map(lambda u: {"value": str(u)}),
        ).filter(bool),
    },
)


def _supported(resource: dict[str, Any]) -> dict[str, Any]:
    """The supported attributes, `primary` absent read as false (RFC 7643
    §2.4) and the manager's $ref absolute, as the facade renders it."""
    kept = {k: v for k, v in resource.items() if k in SUPPORTED}
    for key, value in kept.items():
        if isinstance(value, list):
            kept[key] = [{"primary": False, **entry} for entry in value]
    manager = kept.get(ENTERPRISE, {}).get("manager")
    if manager:
        manager["$ref"] = f"{BASE_URL}/Users/{manager['value']}"
    return kept


@PROPERTY
@given(users)
def test_scim_to_proto_to_scim_keeps_every_supported_attribute(user: dict[str, Any]) -> None:
    """A valid User keeps every supported attribute through identity.v1 (RFC 7643 §4.1, §4.3)."""
    resource = parsing.user(user)
    assert _supported(mapping.to_scim(mapping.to_proto(resource), BASE_URL)) == _supported(resource)


ATTRIBUTES = {
    "userName": "string",
    "USERNAME": "string",
    "name.familyName": "string",
    "displayName": "string",
    "title": "string",
    "externalId": "string",
    "id": "string",
    "active": "boolean",
    "emails.value": "string",
    "emails.type": "string",
    "emails.primary": "boolean",
    "phoneNumbers.value": "string",
    "meta.created": "dateTime",
    "meta.lastModified": "dateTime",
    f"{ENTERPRISE}:employeeNumber": "string",
    f"{ENTERPRISE}:department": "string",
    f"{ENTERPRISE}:manager.value": "string",
}
VALUE_PATHS = {"emails": ("value", "type", "display"), "addresses": ("locality", "type")}
ORDERING = ("eq", "ne", "gt", "ge", "lt", "le")
STRING_ONLY = ("co", "sw", "ew")

json_string = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z", "Cc")), max_size=10
).map(lambda s: json.dumps(s, ensure_ascii=False))
date_time = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda d: json.dumps(d.strftime("%Y-%m-%dT%H:%M:%SZ"))
)


@st.composite
def _comparison(draw: st.DrawFn) -> str:
    attribute, kind = draw(st.sampled_from(sorted(ATTRIBUTES.items())))
    if draw(st.booleans()) and kind != "boolean":
        return f"{attribute} pr"
    if kind == "boolean":
        operator = draw(st.sampled_from(["eq", "ne"]))
        return f"{attribute} {operator} {draw(st.sampled_from(['true', 'false']))}"
    operators = ORDERING + (STRING_ONLY if kind == "string" else ())
    value = draw(json_string if kind == "string" else date_time)
    return f"{attribute} {draw(st.sampled_from(operators))} {value}"


@st.composite
def _value_path(draw: st.DrawFn) -> str:
    attribute, subs = draw(st.sampled_from(sorted(VALUE_PATHS.items())))
    terms = [
        f"{sub} {draw(st.sampled_from(ORDERING + STRING_ONLY))} {draw(json_string)}"
        for sub in draw(st.lists(st.sampled_from(subs), min_size=1, max_size=2))
    ]
    joint = f" {draw(st.sampled_from(['and', 'or']))} "
    return f"{attribute}[{joint.join(terms)}]"


filters = st.recursive(
    st.one_of(_comparison(), _value_path()),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
        inner.map(lambda f: f"not ({f})"),
        inner.map(lambda f: f"({f})"),
    ),
    max_leaves=6,
)


@PROPERTY
@given(filters)
def test_a_filter_reads_back_the_same_after_rendering(expression: str) -> None:
    """A rendered filter parses to the same tree and text again (RFC 7644 §3.4.2.2)."""
    # The first rendering may regroup what is associative ("a and (b and c)"
    # reads "a and b and c"); from then on text and tree are fixed.
    rendered = str(ScimFilter[parsing.UserModel](expression).ast)
    parsed = ScimFilter[parsing.UserModel](rendered).ast
    assert str(parsed) == rendered
    assert ScimFilter[parsing.UserModel](str(parsed)).ast == parsed
