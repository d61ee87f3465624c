"""List filters (RFC 7644 §3.4.2.2 syntax) compiled into SQL boolean expressions over
the users and groups tables, evaluated in the database on SQLite and PostgreSQL.

Where the RFC leaves room, these are the rules:

- Every leaf is two-valued: an absent, null or empty attribute fails a comparison,
  so `not (title eq "x")` matches a user without a title. No SQL NULL reaches
  NOT, AND or OR.
- `x ne v` is `not (x eq v)`; on a multi-valued attribute no value equals v.
- `x eq null` is `not (x pr)` and `x ne null` is `x pr`: RFC 7643 §2.5 holds
  unassigned and null equivalent. null with any other operator is refused.
- `pr` holds for a non-empty value: not null, "", [] or {} (RFC 7644 §3.4.2.2).
  Storage omits false, so a stored boolean is present only when true; `active`
  always is.
- Strings compare case-insensitively (engine.fold and its SQL twin `folded`)
  except identifiers: id, externalId, the enterprise manager.value and group and
  member ids. Ordering is by code point on both engines; co, sw and ew never use
  LIKE, whose case rules and wildcards differ between the engines.
- Names of custom extension attributes and their URN are looked up as written.
- An empty filter matches everything (AIP-160).
"""

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar, cast

import sqlalchemy as sa
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    STRING_OPERATORS,
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from identity_service.domain.errors import InvalidFilter
from identity_service.store.engine import fold, folded
from identity_service.store.schema import JSONDocument, metadata

__all__ = ["MAX_FILTER_LENGTH", "group_filter", "user_filter"]

MAX_FILTER_LENGTH = 4096

_Bool = sa.ColumnElement[bool]
_T = TypeVar("_T")
_Resolver = Callable[[AttrPath], "_Attribute"]
_Op = CompareOperator
_ORDER: dict[CompareOperator, Callable[[Any, Any], _Bool]] = {
    _Op.eq: operator.eq,
    _Op.gt: operator.gt,
    _Op.ge: operator.ge,
    _Op.lt: operator.lt,
    _Op.le: operator.le,
}
_USERS = metadata.tables["users"]
_GROUPS = metadata.tables["groups"]
_MEMBERS = metadata.tables["group_members"]
_CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:user"
_CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group"
_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"


def user_filter(expression: str) -> sa.ColumnElement[bool]:
    """The SQL condition on `users` rows of an identity.v1 ListUsers filter."""
    return _compile(expression, _user_attribute)


def group_filter(expression: str) -> sa.ColumnElement[bool]:
    """The SQL condition on `groups` rows of an identity.v1 ListGroups filter."""
    return _compile(expression, _group_attribute)


def _compile(expression: str, resolve: _Resolver) -> _Bool:
    if len(expression) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    if not expression.strip():
        return sa.true()
    try:
        tree = ScimFilter(expression).ast
    except InvalidFilterException as exc:
        raise InvalidFilter(f"the filter does not parse: {exc.detail}") from exc
    return _Compiler(resolve).visit(tree)


class _Shim(FunctionElement[Any]):
    """A function in two spellings: templates over `{args}`, or over `{doc}` and
    `{path}` of a single `document[path]` argument (PostgreSQL takes it whole)."""

    inherit_cache = True
    sqlite: ClassVar[str]
    postgresql: ClassVar[str]


@compiles(_Shim, "sqlite")
def _shim_sqlite(element: _Shim, compiler: Any, **kw: Any) -> str:
    if "{doc}" not in element.sqlite:
        return element.sqlite.format(args=compiler.process(element.clauses, **kw))
    at = cast(sa.BinaryExpression[Any], element.clauses.clauses[0])
    doc, path = compiler.process(at.left, **kw), compiler.process(at.right, **kw)
    return element.sqlite.format(doc=doc, path=path)


@compiles(_Shim)
def _shim_default(element: _Shim, compiler: Any, **kw: Any) -> str:
    return element.postgresql.format(args=compiler.process(element.clauses, **kw))


class _position(_Shim):  # noqa: N801 - SQL function style
    """1-based position of a substring, 0 when absent; case-sensitive on both."""

    inherit_cache = True
    type = sa.Integer()
    sqlite, postgresql = "instr({args})", "strpos({args})"


class _bytewise(_Shim):  # noqa: N801
    """A string ordered by code point, as SQLite's BINARY and PostgreSQL's "C"."""

    inherit_cache = True
    type = sa.String()
    sqlite, postgresql = "{args}", '({args}) COLLATE "C"'


class _json_elements(_Shim):  # noqa: N801
    """The elements of a JSON array, one row each, in a column `value`."""

    inherit_cache = True
    sqlite, postgresql = "json_each({doc}, {path})", "jsonb_array_elements({args})"


class _is_text(_Shim):  # noqa: N801
    """Never NULL, as each test of the JSON value at `document[path]` below."""

    inherit_cache = True
    type = sa.Boolean()
    sqlite = "(coalesce(json_type({doc}, {path}), '') = 'text')"
    postgresql = "(coalesce(jsonb_typeof({args}), '') = 'string')"


class _is_number(_is_text):  # noqa: N801
    inherit_cache = True
    sqlite = "(coalesce(json_type({doc}, {path}), '') IN ('integer', 'real'))"
    postgresql = "(coalesce(jsonb_typeof({args}), '') = 'number')"


class _is_true(_is_text):  # noqa: N801
    inherit_cache = True
    sqlite = "(coalesce(json_type({doc}, {path}), '') = 'true')"
    postgresql = "coalesce(({args}) = 'true'::jsonb, false)"


class _is_false(_is_text):  # noqa: N801
    inherit_cache = True
    sqlite = "(coalesce(json_type({doc}, {path}), '') = 'false')"
    postgresql = "coalesce(({args}) = 'false'::jsonb, false)"


class _is_present(_is_text):  # noqa: N801
    """Set and not null, "", {} or []."""

    inherit_cache = True
    sqlite = (
        "(coalesce(json_quote(json_extract({doc}, {path})), 'null')"
        " NOT IN ('null', '\"\"', '{{}}', '[]'))"
    )
    postgresql = (
        "coalesce(({args}) NOT IN ('null'::jsonb, '\"\"'::jsonb, '{{}}'::jsonb, '[]'::jsonb),"
        " false)"
    )


class _Attribute(ABC):
    label: str

    def compare(self, op: CompareOperator, value: object) -> _Bool:
        """The condition of `self op value`; op is never ne and value never null."""
        raise InvalidFilter(f"{self.label} is complex: compare one of its sub-attributes")

    @abstractmethod
    def present(self) -> _Bool: ...

    def sub(self, name: str) -> "_Attribute":
        raise InvalidFilter(f"{self.label} has no sub-attribute {name!r}")


def _refuse(
    label: str, op: CompareOperator, refused: frozenset[CompareOperator], kind: str
) -> None:
    if op in refused:
        raise InvalidFilter(f"{op.value!r} does not apply to {label}, a {kind}")


def _guarded(guard: _Bool | None, condition: _Bool) -> _Bool:
    return condition if guard is None else sa.and_(guard, condition)


@dataclass(frozen=True)
class _Text(_Attribute):
    """A string. `fold` says how case is ignored: not at all, by a column holding
    fold(text) already, or by folding both sides in SQL. `guard`, when given, holds
    exactly when the attribute has a value; without it the value is never NULL."""

    label: str
    value: sa.ColumnElement[Any]
    fold: Literal["exact", "stored", "sql"] = "sql"
    guard: _Bool | None = None

    def compare(self, op: CompareOperator, value: object) -> _Bool:
        if not isinstance(value, str):
            raise InvalidFilter(f"{self.label} is a string: compare it with a quoted value")
        if self.fold == "sql":
            condition = _text_op(op, folded(self.value), folded(sa.literal(value)))
        else:
            key = fold(value) if self.fold == "stored" else value
            condition = _prefix(self.value, key) if op is _Op.sw else _text_op(op, self.value, key)
        return _guarded(self.guard, condition)

    def present(self) -> _Bool:
        return _guarded(self.guard, self.value != "")


def _text_op(op: CompareOperator, left: sa.ColumnElement[Any], right: Any) -> _Bool:
    right = sa.literal(right) if isinstance(right, str) else right
    length = sa.func.length
    condition: _Bool
    if op is _Op.co:
        condition = _position(left, right) > 0
    elif op is _Op.sw:
        condition = sa.func.substr(left, 1, length(right)) == right
    elif op is _Op.ew:
        start = length(left) - length(right) + 1
        condition = sa.and_(length(left) >= length(right), sa.func.substr(left, start) == right)
    elif op is _Op.eq:
        condition = left == right
    else:
        condition = _ORDER[op](_bytewise(left), _bytewise(right))
    return condition


def _prefix(left: sa.ColumnElement[Any], prefix: str) -> _Bool:
    """`left sw prefix` as a range over code points, which an index can serve."""
    low = _bytewise(left) >= prefix
    chars = list(prefix)
    while chars:
        last = ord(chars.pop()) + 1
        if last <= 0x10FFFF:
            successor = "".join(chars) + chr(0xE000 if 0xD800 <= last < 0xE000 else last)
            return sa.and_(low, _bytewise(left) < successor)
    return low


def _as_bool(label: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidFilter(f"{label} is a boolean: compare it with true or false")
    return value


@dataclass(frozen=True)
class _Active(_Attribute):
    """SCIM `active`, read off the user's state; deleted users are filtered elsewhere."""

    label: str

    def compare(self, op: CompareOperator, value: object) -> _Bool:
        _refuse(self.label, op, frozenset(_Op) - {_Op.eq}, "boolean")
        return _USERS.c.state == ("ACTIVE" if _as_bool(self.label, value) else "DEACTIVATED")

    def present(self) -> _Bool:
        return sa.true()


@dataclass(frozen=True)
class _Flag(_Attribute):
    """A stored JSON boolean; absent means false."""

    label: str
    at: sa.ColumnElement[Any]

    def compare(self, op: CompareOperator, value: object) -> _Bool:
        _refuse(self.label, op, frozenset(_Op) - {_Op.eq}, "boolean")
        return _is_true(self.at) if _as_bool(self.label, value) else sa.not_(_is_true(self.at))

    def present(self) -> _Bool:
        return _is_true(self.at)


@dataclass(frozen=True)
class _Instant(_Attribute):
    """A dateTime column (RFC 7643 §2.3.5), compared with RFC 3339 values."""

    label: str
    column: sa.ColumnElement[Any]

    def compare(self, op: CompareOperator, value: object) -> _Bool:
        _refuse(self.label, op, STRING_OPERATORS, "dateTime")
        return _ORDER[op](self.column, _as_instant(self.label, value))

    def present(self) -> _Bool:
        return sa.true()


def _as_instant(label: str, value: object) -> datetime:
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise InvalidFilter(
            f"{label} is a dateTime: compare it with an RFC 3339 date-time such as "
            f'"2024-05-13T04:42:34Z", not {value!r}'
        )
    # SQLite stores UTC wall-clock text: compare in UTC.
    return instant.astimezone(UTC)


@dataclass(frozen=True)
class _JsonValue(_Attribute):
    """An attribute of a custom extension, typed by the value it is compared with."""

    label: str
    at: sa.ColumnElement[Any]

    def compare(self, op: CompareOperator, value: object) -> _Bool:
        if isinstance(value, str):
            json = cast(Any, self.at)
            return _Text(self.label, json.as_string(), guard=_is_text(self.at)).compare(op, value)
        if op in STRING_OPERATORS:
            raise InvalidFilter(f"{op.value!r} needs a string value, not {value!r}")
        if isinstance(value, bool):
            _refuse(self.label, op, frozenset(_Op) - {_Op.eq}, "boolean")
            return _is_true(self.at) if value else _is_false(self.at)
        return sa.and_(
            _is_number(self.at), _ORDER[op](cast(Any, self.at).as_float(), _number(value))
        )

    def present(self) -> _Bool:
        return _is_present(self.at)


def _number(value: object) -> float:
    try:
        return float(cast(float, value))
    except (OverflowError, TypeError, ValueError):
        raise InvalidFilter(f"{value!r} is not a number a filter can compare") from None


@dataclass(frozen=True)
class _Complex(_Attribute):
    """A singular complex attribute stored as a JSON object."""

    label: str
    doc: sa.ColumnElement[Any]
    path: tuple[str, ...]
    subs: Mapping[str, tuple[str, "_Spec"]]

    def present(self) -> _Bool:
        return _is_present(self.doc[self.path])

    def sub(self, name: str) -> _Attribute:
        key, spec = _lookup(self.label, self.subs, name)
        return spec(f"{self.label}.{name}", self.doc, (*self.path, key))


def _lookup(label: str, table: Mapping[str, _T], name: str) -> _T:
    if (found := table.get(_norm(name))) is None:
        raise InvalidFilter(f"{label} has no sub-attribute {name!r}")
    return found


def _norm(name: str) -> str:
    """Attribute names match case-insensitively, in SCIM or in proto spelling."""
    return name.lower().replace("_", "")


class _MultiValued(_Attribute):
    """A multi-valued attribute: a filter on it holds if one value satisfies it."""

    label: str

    @abstractmethod
    def any(self, condition: Callable[[_Resolver], _Bool]) -> _Bool:
        """EXISTS a value for which `condition`, given its sub-attributes, holds."""

    def compare(self, op: CompareOperator, value: object) -> _Bool:
        # Without a sub-attribute, a comparison applies to `value` (RFC 7644 §3.4.2.2).
        return self.sub("value").compare(op, value)

    def sub(self, name: str) -> _Attribute:
        return _Each(f"{self.label}.{name}", self, name)


@dataclass(frozen=True)
class _Each(_Attribute):
    """`emails.type` and the like: the sub-attribute of any one value."""

    label: str
    values: _MultiValued
    name: str

    def compare(self, op: CompareOperator, value: object) -> _Bool:
        return self.values.any(lambda element: element(AttrPath(self.name)).compare(op, value))

    def present(self) -> _Bool:
        return self.values.any(lambda element: element(AttrPath(self.name)).present())


def _element(
    label: str, subs: Mapping[str, _T], make: Callable[[str, _T], _Attribute]
) -> _Resolver:
    """Resolves the names inside `attr[...]` to sub-attributes of one value."""

    def resolve(path: AttrPath) -> _Attribute:
        if path.uri or path.sub_attr or (sub := subs.get(_norm(path.attr))) is None:
            raise InvalidFilter(f"{label} has no sub-attribute {str(path)!r}")
        return make(f"{label}.{path.attr}", sub)

    return resolve


@dataclass(frozen=True)
class _JsonArray(_MultiValued):
    label: str
    at: sa.ColumnElement[Any]
    subs: Mapping[str, tuple[str, "_Spec"]]

    def any(self, condition: Callable[[_Resolver], _Bool]) -> _Bool:
        rows = _json_elements(self.at).table_valued(sa.column("value", JSONDocument))
        element = _element(self.label, self.subs, lambda label, s: s[1](label, rows.c.value, s[:1]))
        return sa.exists().select_from(rows).where(condition(element))

    def present(self) -> _Bool:
        return _is_present(self.at)


@dataclass(frozen=True)
class _Memberships(_MultiValued):
    """User.groups or Group.members: rows of group_members in the owner's tenant."""

    label: str
    owner: sa.Table
    own_column: str
    fields: Mapping[str, Callable[[str, sa.FromClause], _Attribute]]
    scope: Callable[[sa.FromClause], _Bool] = field(default=lambda _rows: sa.true())

    def any(self, condition: Callable[[_Resolver], _Bool]) -> _Bool:
        rows = _MEMBERS.alias()
        element = _element(self.label, self.fields, lambda label, make: make(label, rows))
        return sa.exists().where(
            rows.c.tenant_id == self.owner.c.tenant_id,
            rows.c[self.own_column] == self.owner.c.id,
            self.scope(rows),
            condition(element),
        )

    def present(self) -> _Bool:
        return self.any(lambda _element: sa.true())


_Spec = Callable[[str, sa.ColumnElement[Any], tuple[str, ...]], _Attribute]


def _text(label: str, doc: sa.ColumnElement[Any], path: tuple[str, ...]) -> _Attribute:
    return _Text(label, cast(Any, doc[path]).as_string(), guard=_is_text(doc[path]))


def _exact(label: str, doc: sa.ColumnElement[Any], path: tuple[str, ...]) -> _Attribute:
    return _Text(label, cast(Any, doc[path]).as_string(), "exact", _is_text(doc[path]))


def _flag(label: str, doc: sa.ColumnElement[Any], path: tuple[str, ...]) -> _Attribute:
    return _Flag(label, doc[path])


def _complex(subs: Mapping[str, tuple[str, _Spec]]) -> _Spec:
    return lambda label, doc, path: _Complex(label, doc, path, subs)


def _keys(spec: _Spec, *keys: str) -> dict[str, tuple[str, _Spec]]:
    return {_norm(key): (key, spec) for key in keys}


_VALUE_SUBS = {**_keys(_text, "value", "display", "type"), **_keys(_flag, "primary")}
_ADDRESS_SUBS = {
    **_keys(_text, "formatted", "streetAddress", "locality", "region", "postalCode"),
    **_keys(_text, "country", "type"),
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
_ARRAYS = {
    **{_norm(key): (key, _VALUE_SUBS) for key in ("emails", "phoneNumbers", "ims", "photos")},
    **{_norm(key): (key, _VALUE_SUBS) for key in ("entitlements", "roles", "x509Certificates")},
    "addresses": ("addresses", _ADDRESS_SUBS),
}
_USER_STRINGS = ("nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale")


def _columns(table: sa.Table) -> dict[str, Callable[[str], _Attribute]]:
    """The attributes of a resource held in columns of its own table."""

    def text(
        column: sa.Column[Any], how: Literal["exact", "stored"]
    ) -> Callable[[str], _Attribute]:
        guard = column.is_not(None) if column.nullable else None
        return lambda label: _Text(label, column, how, guard)

    def instant(column: sa.Column[Any]) -> Callable[[str], _Attribute]:
        return lambda label: _Instant(label, column)

    created, modified = instant(table.c.create_time), instant(table.c.update_time)
    return {
        "id": text(table.c.id, "exact"),
        "externalid": text(table.c.external_id, "exact"),
        "displayname": text(table.c.display_name_key, "stored"),
        **{"meta.created": created, "createtime": created},
        **{"meta.lastmodified": modified, "updatetime": modified},
    }


def _user_groups(label: str) -> _Attribute:
    def group_id(label: str, rows: sa.FromClause) -> _Attribute:
        return _Text(label, rows.c.group_id, "exact")

    return _Memberships(
        label, _USERS, "member_id", {"value": group_id}, lambda rows: rows.c.member_type == "USER"
    )


def _group_members(label: str) -> _Attribute:
    def member_id(label: str, rows: sa.FromClause) -> _Attribute:
        return _Text(label, rows.c.member_id, "exact")

    def member_type(label: str, rows: sa.FromClause) -> _Attribute:
        return _Text(label, rows.c.member_type)

    return _Memberships(label, _GROUPS, "group_id", {"value": member_id, "type": member_type})


_DOC = _USERS.c.attributes


def _json_string(key: str) -> Callable[[str], _Attribute]:
    return lambda label: _text(label, _DOC, (key,))


def _json_array(key: str, subs: Mapping[str, tuple[str, _Spec]]) -> Callable[[str], _Attribute]:
    return lambda label: _JsonArray(label, _DOC[(key,)], subs)


_USER_SCALARS: dict[str, Callable[[str], _Attribute]] = {
    **_columns(_USERS),
    "username": lambda label: _Text(label, _USERS.c.user_name_key, "stored"),
    "active": _Active,
    **{_norm(key): _json_string(key) for key in (*_USER_STRINGS, "timezone")},
}
_USER_COMPOUNDS: dict[str, Callable[[str], _Attribute]] = {
    "name": lambda label: _Complex(label, _DOC, ("nameParts",), _NAME_SUBS),
    "nameparts": lambda label: _Complex(label, _DOC, ("nameParts",), _NAME_SUBS),
    "enterprise": lambda label: _Complex(label, _DOC, ("enterprise",), _ENTERPRISE_SUBS),
    "groups": _user_groups,
    **{name: _json_array(key, subs) for name, (key, subs) in _ARRAYS.items()},
}
_GROUP_SCALARS = _columns(_GROUPS)
_GROUP_COMPOUNDS: dict[str, Callable[[str], _Attribute]] = {"members": _group_members}


def _resolve(
    path: AttrPath,
    scalars: Mapping[str, Callable[[str], _Attribute]],
    compounds: Mapping[str, Callable[[str], _Attribute]],
) -> _Attribute:
    dotted = _norm(path.attr) + (f".{_norm(path.sub_attr)}" if path.sub_attr else "")
    if (scalar := scalars.get(dotted)) is not None:
        return scalar(str(path))
    if (compound := compounds.get(_norm(path.attr))) is None:
        raise InvalidFilter(f"unknown attribute {str(path)!r}")
    attribute = compound(path.attr)
    return attribute.sub(path.sub_attr) if path.sub_attr else attribute


def _user_attribute(path: AttrPath) -> _Attribute:
    uri = (path.uri or _CORE_USER).lower()
    if uri == _CORE_USER:
        return _resolve(path, _USER_SCALARS, _USER_COMPOUNDS)
    if uri == _ENTERPRISE:
        key, spec = _lookup(str(path.uri), _ENTERPRISE_SUBS, path.attr)
        attribute = spec(f"{path.uri}:{path.attr}", _DOC, ("enterprise", key))
        return attribute.sub(path.sub_attr) if path.sub_attr else attribute
    if uri.startswith("urn:ietf:params:scim:schemas:core:"):
        raise InvalidFilter(f"{str(path)!r} is not an attribute of a User")
    keys = ("extensions", path.uri, path.attr, *([path.sub_attr] if path.sub_attr else []))
    return _JsonValue(str(path), _DOC[keys])


def _group_attribute(path: AttrPath) -> _Attribute:
    if (path.uri or _CORE_GROUP).lower() != _CORE_GROUP:
        raise InvalidFilter(f"{str(path)!r} is not an attribute of a Group")
    return _resolve(path, _GROUP_SCALARS, _GROUP_COMPOUNDS)


class _Compiler(FilterVisitor[_Bool]):
    def __init__(self, resolve: _Resolver) -> None:
        self.resolve = resolve

    def visit_comparison(self, node: Comparison) -> _Bool:
        attribute = self.resolve(node.attr_path)
        if node.value is None:
            return _compare_null(attribute, node.op)
        if node.op is _Op.ne:
            return sa.not_(attribute.compare(_Op.eq, node.value))
        return attribute.compare(node.op, node.value)

    def visit_present(self, node: Present) -> _Bool:
        return self.resolve(node.attr_path).present()

    def visit_not(self, node: Not) -> _Bool:
        return sa.not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> _Bool:
        terms = [self.visit(term) for term in node.terms]
        return sa.and_(*terms) if node.op is LogicalOperator.and_ else sa.or_(*terms)

    def visit_value_path(self, node: ValuePath) -> _Bool:
        attribute = self.resolve(node.attr_path)
        if not isinstance(attribute, _MultiValued):
            raise InvalidFilter(f"{attribute.label} is not multi-valued: [...] needs a list")
        return attribute.any(lambda element: _Compiler(element).visit(node.val_filter))


def _compare_null(attribute: _Attribute, op: CompareOperator) -> _Bool:
    # RFC 7643 §2.5: unassigned and null are the same state.
    if op is _Op.eq:
        return sa.not_(attribute.present())
    if op is _Op.ne:
        return attribute.present()
    raise InvalidFilter(f"null can only be compared with eq or ne, not {op.value!r}")
