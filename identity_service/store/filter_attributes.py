"""The attributes a User or Group filter can name, and where each is stored: a
column of `users` or `groups`, a key of the user's JSON `attributes`, or rows of
`group_members`. Names match case-insensitively, in SCIM or in proto spelling;
those of custom extension attributes and their URN are looked up as written."""

from collections.abc import Callable, Mapping
from typing import Any, Literal

import sqlalchemy as sa
from scim2_models.path import AttrPath

from identity_service.domain.errors import InvalidFilter
from identity_service.store.filter_compounds import (
    Complex,
    JsonArray,
    Memberships,
    Spec,
    Subs,
    lookup,
    norm,
)
from identity_service.store.filter_scalars import (
    Active,
    Attribute,
    Flag,
    Instant,
    JsonValue,
    Text,
    json_text,
)
from identity_service.store.schema import metadata

__all__ = ["group_attribute", "key_column", "user_attribute"]

_Named = Callable[[str], Attribute]
_USERS = metadata.tables["users"]
_GROUPS = metadata.tables["groups"]
_DOC = _USERS.c.attributes
_CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:user"
_CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group"
_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"


def _text(label: str, doc: sa.ColumnElement[Any], path: tuple[str, ...]) -> Attribute:
    return json_text(label, doc[path])


def _exact(label: str, doc: sa.ColumnElement[Any], path: tuple[str, ...]) -> Attribute:
    return json_text(label, doc[path], "exact")


def _flag(label: str, doc: sa.ColumnElement[Any], path: tuple[str, ...]) -> Attribute:
    return Flag(label, doc[path])


def _complex(subs: Subs) -> Spec:
    return lambda label, doc, path: Complex(label, doc, path, subs)


def _keys(spec: Spec, *keys: str) -> dict[str, tuple[str, Spec]]:
    return {norm(key): (key, spec) for key in keys}


_VALUE_SUBS = {**_keys(_text, "value", "display", "type"), **_keys(_flag, "primary")}
_ADDRESS_SUBS = {
    **_keys(
        _text,
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
        "type",
    ),
    **_keys(_flag, "primary"),
}
_NAME_SUBS = _keys(
    _text,
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
)
_MANAGER_SUBS = {**_keys(_exact, "value"), **_keys(_text, "displayName")}
_ENTERPRISE_SUBS = {
    **_keys(_text, "employeeNumber", "costCenter", "organization", "division", "department"),
    **_keys(_complex(_MANAGER_SUBS), "manager"),
}
_VALUE_ARRAYS = (
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "entitlements",
    "roles",
    "x509Certificates",
)
_USER_STRINGS = (
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
)


def _columns(table: sa.Table) -> dict[str, _Named]:
    """The attributes of a resource held in columns of its own table."""

    def text(column: sa.Column[Any], how: Literal["exact", "stored"]) -> _Named:
        guard = column.is_not(None) if column.nullable else None
        return lambda label: Text(label, column, how, guard)

    def instant(column: sa.Column[Any]) -> _Named:
        return lambda label: Instant(label, column)

    created, modified = instant(table.c.create_time), instant(table.c.update_time)
    return {
        "id": text(table.c.id, "exact"),
        "externalid": text(table.c.external_id, "exact"),
        "displayname": text(table.c.display_name_key, "stored"),
        **{"meta.created": created, "createtime": created},
        **{"meta.lastmodified": modified, "updatetime": modified},
    }


def _user_groups(label: str) -> Attribute:
    def group_id(label: str, rows: sa.FromClause) -> Attribute:
        return Text(label, rows.c.group_id, "exact")

    return Memberships(
        label, _USERS, "member_id", {"value": group_id}, lambda rows: rows.c.member_type == "USER"
    )


def _group_members(label: str) -> Attribute:
    def member_id(label: str, rows: sa.FromClause) -> Attribute:
        return Text(label, rows.c.member_id, "exact")

    def member_type(label: str, rows: sa.FromClause) -> Attribute:
        return Text(label, rows.c.member_type)

    return Memberships(label, _GROUPS, "group_id", {"value": member_id, "type": member_type})


def _json_string(key: str) -> _Named:
    return lambda label: _text(label, _DOC, (key,))


def _json_complex(key: str, subs: Subs) -> _Named:
    return lambda label: Complex(label, _DOC, (key,), subs)


def _json_array(key: str, subs: Subs) -> _Named:
    return lambda label: JsonArray(label, _DOC[(key,)], subs)


_USER_SCALARS: dict[str, _Named] = {
    **_columns(_USERS),
    "username": lambda label: Text(label, _USERS.c.user_name_key, "stored"),
    "active": lambda label: Active(label, _USERS.c.state),
    **{norm(key): _json_string(key) for key in _USER_STRINGS},
}
_USER_COMPOUNDS: dict[str, _Named] = {
    **dict.fromkeys(("name", "nameparts"), _json_complex("nameParts", _NAME_SUBS)),
    "enterprise": _json_complex("enterprise", _ENTERPRISE_SUBS),
    "groups": _user_groups,
    **{norm(key): _json_array(key, _VALUE_SUBS) for key in _VALUE_ARRAYS},
    "emails": lambda label: JsonArray(label, _DOC[("emails",)], _VALUE_SUBS, _USERS.c.emails_key),
    "addresses": _json_array("addresses", _ADDRESS_SUBS),
}
_GROUP_SCALARS = _columns(_GROUPS)
_GROUP_COMPOUNDS: dict[str, _Named] = {"members": _group_members}


def user_attribute(path: AttrPath) -> Attribute:
    """The attribute of a `users` row that `path` names."""
    uri = (path.uri or _CORE_USER).lower()
    if uri == _CORE_USER:
        return _resolve(path, _USER_SCALARS, _USER_COMPOUNDS)
    if uri == _ENTERPRISE:
        key, spec = lookup(str(path.uri), _ENTERPRISE_SUBS, path.attr)
        attribute = spec(f"{path.uri}:{path.attr}", _DOC, ("enterprise", key))
        return _descend(attribute, path.sub_attr)
    if uri.startswith("urn:ietf:params:scim:schemas:core:"):
        raise InvalidFilter(f"{str(path)!r} is not an attribute of a User")
    keys = ("extensions", path.uri, path.attr, *([path.sub_attr] if path.sub_attr else []))
    return JsonValue(str(path), _DOC[keys])


def group_attribute(path: AttrPath) -> Attribute:
    """The attribute of a `groups` row that `path` names."""
    if (path.uri or _CORE_GROUP).lower() != _CORE_GROUP:
        raise InvalidFilter(f"{str(path)!r} is not an attribute of a Group")
    return _resolve(path, _GROUP_SCALARS, _GROUP_COMPOUNDS)


def _resolve(
    path: AttrPath, scalars: Mapping[str, _Named], compounds: Mapping[str, _Named]
) -> Attribute:
    dotted = norm(path.attr) + (f".{norm(path.sub_attr)}" if path.sub_attr else "")
    if (scalar := scalars.get(dotted)) is not None:
        return scalar(str(path))
    if (compound := compounds.get(norm(path.attr))) is None:
        raise InvalidFilter(f"unknown attribute {str(path)!r}")
    return _descend(compound(path.attr), path.sub_attr)


def _descend(attribute: Attribute, sub_attr: str | None) -> Attribute:
    return attribute.sub(sub_attr) if sub_attr else attribute


def key_column(kind: Literal["user", "group"], name: str) -> tuple[sa.Column[Any], bool] | None:
    """Where `name eq "value"` compares when `name` is held in a column of
    the resource's own table: that column, and whether the value is folded
    before it is compared (the column holds folded text). None for every
    other attribute."""
    named = (_USER_SCALARS if kind == "user" else _GROUP_SCALARS).get(norm(name))
    attribute = named(name) if named is not None else None
    if (
        isinstance(attribute, Text)
        and attribute.fold != "sql"
        and isinstance(attribute.value, sa.Column)
    ):
        return attribute.value, attribute.fold == "stored"
    return None
