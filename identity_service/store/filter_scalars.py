"""The attributes a filter names, as the filter compiler sees them, and the scalar
kinds among them (RFC 7643 §2.3): strings, booleans, dateTimes and the untyped
values of custom extensions. Each turns `attr op value` and `attr pr` into a
two-valued SQL condition: an attribute without a value fails, never yields NULL."""

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from scim2_models.path import STRING_OPERATORS, AttrPath, CompareOperator

from identity_service.domain.errors import InvalidFilter
from identity_service.store.engine import fold, folded
from identity_service.store.sql_functions import (
    bytewise,
    json_is_false,
    json_is_number,
    json_is_present,
    json_is_text,
    json_is_true,
    position,
)

__all__ = [
    "Active",
    "Attribute",
    "Condition",
    "Flag",
    "Instant",
    "JsonValue",
    "Resolver",
    "Text",
    "json_text",
]

Condition = sa.ColumnElement[bool]
Resolver = Callable[[AttrPath], "Attribute"]
_Op = CompareOperator
_ORDER: dict[CompareOperator, Callable[[Any, Any], Condition]] = {
    _Op.eq: operator.eq,
    _Op.gt: operator.gt,
    _Op.ge: operator.ge,
    _Op.lt: operator.lt,
    _Op.le: operator.le,
}


class Attribute(ABC):
    """One attribute of a resource, or of one value of a multi-valued attribute."""

    label: str

    def compare(self, op: CompareOperator, value: object) -> Condition:
        """The condition of `self op value`; op is never ne and value never null."""
        raise InvalidFilter(f"{self.label} is complex: compare one of its sub-attributes")

    @abstractmethod
    def present(self) -> Condition: ...

    def sub(self, name: str) -> "Attribute":
        raise InvalidFilter(f"{self.label} has no sub-attribute {name!r}")


def _refuse(
    label: str, op: CompareOperator, refused: frozenset[CompareOperator], kind: str
) -> None:
    if op in refused:
        raise InvalidFilter(f"{op.value!r} does not apply to {label}, a {kind}")


def _guarded(guard: Condition | None, condition: Condition) -> Condition:
    return condition if guard is None else sa.and_(guard, condition)


@dataclass(frozen=True)
class Text(Attribute):
    """A string. `fold` says how case is ignored: not at all, by a column holding
    fold(text) already, or by folding both sides in SQL. `guard`, when given, holds
    exactly when the attribute has a value; without it the value is never NULL."""

    label: str
    value: sa.ColumnElement[Any]
    fold: Literal["exact", "stored", "sql"] = "sql"
    guard: Condition | None = None

    def compare(self, op: CompareOperator, value: object) -> Condition:
        if not isinstance(value, str):
            raise InvalidFilter(f"{self.label} is a string: compare it with a quoted value")
        if self.fold == "sql":
            condition = _text_op(op, folded(self.value), folded(sa.literal(value)))
        else:
            key = fold(value) if self.fold == "stored" else value
            condition = _prefix(self.value, key) if op is _Op.sw else _text_op(op, self.value, key)
        return _guarded(self.guard, condition)

    def present(self) -> Condition:
        return _guarded(self.guard, self.value != "")


def json_text(label: str, at: sa.ColumnElement[Any], fold: Literal["exact", "sql"] = "sql") -> Text:
    """The string at `document[path]`, absent unless the JSON value there is one."""
    return Text(label, cast(Any, at).as_string(), fold, json_is_text(at))


def _text_op(op: CompareOperator, left: sa.ColumnElement[Any], right: Any) -> Condition:
    right = sa.literal(right) if isinstance(right, str) else right
    length = sa.func.length
    condition: Condition
    if op is _Op.co:
        condition = position(left, right) > 0
    elif op is _Op.sw:
        condition = sa.func.substr(left, 1, length(right)) == right
    elif op is _Op.ew:
        start = length(left) - length(right) + 1
        condition = sa.and_(length(left) >= length(right), sa.func.substr(left, start) == right)
    elif op is _Op.eq:
        condition = left == right
    else:
        condition = _ORDER[op](bytewise(left), bytewise(right))
    return condition


def _prefix(left: sa.ColumnElement[Any], prefix: str) -> Condition:
    """`left sw prefix` as a range over code points, which an index can serve."""
    low = bytewise(left) >= prefix
    chars = list(prefix)
    while chars:
        last = ord(chars.pop()) + 1
        if last <= 0x10FFFF:
            successor = "".join(chars) + chr(0xE000 if 0xD800 <= last < 0xE000 else last)
            return sa.and_(low, bytewise(left) < successor)
    return low


def _as_bool(label: str, op: CompareOperator, value: object) -> bool:
    """A boolean compares with eq alone (`ne` arrives as `not eq`)."""
    _refuse(label, op, frozenset(_Op) - {_Op.eq}, "boolean")
    if not isinstance(value, bool):
        raise InvalidFilter(f"{label} is a boolean: compare it with true or false")
    return value


@dataclass(frozen=True)
class Active(Attribute):
    """SCIM `active`, read off the user's state; deleted users are filtered elsewhere."""

    label: str
    state: sa.ColumnElement[Any]

    def compare(self, op: CompareOperator, value: object) -> Condition:
        return self.state == ("ACTIVE" if _as_bool(self.label, op, value) else "DEACTIVATED")

    def present(self) -> Condition:
        return sa.true()


@dataclass(frozen=True)
class Flag(Attribute):
    """A stored JSON boolean; absent means false."""

    label: str
    at: sa.ColumnElement[Any]

    def compare(self, op: CompareOperator, value: object) -> Condition:
        is_true = json_is_true(self.at)
        return is_true if _as_bool(self.label, op, value) else sa.not_(is_true)

    def present(self) -> Condition:
        return json_is_true(self.at)


@dataclass(frozen=True)
class Instant(Attribute):
    """A dateTime column (RFC 7643 §2.3.5), compared with RFC 3339 values."""

    label: str
    column: sa.ColumnElement[Any]

    def compare(self, op: CompareOperator, value: object) -> Condition:
        _refuse(self.label, op, STRING_OPERATORS, "dateTime")
        return _ORDER[op](self.column, _as_instant(self.label, value))

    def present(self) -> Condition:
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
class JsonValue(Attribute):
    """An attribute of a custom extension, typed by the value it is compared with."""

    label: str
    at: sa.ColumnElement[Any]

    def compare(self, op: CompareOperator, value: object) -> Condition:
        if isinstance(value, str):
            return json_text(self.label, self.at).compare(op, value)
        if op in STRING_OPERATORS:
            raise InvalidFilter(f"{op.value!r} needs a string value, not {value!r}")
        if isinstance(value, bool):
            truth = _as_bool(self.label, op, value)
            return json_is_true(self.at) if truth else json_is_false(self.at)
        number = cast(Any, self.at).as_float()
        return sa.and_(json_is_number(self.at), _ORDER[op](number, _number(value)))

    def present(self) -> Condition:
        return json_is_present(self.at)


def _number(value: object) -> float:
    try:
        return float(cast(float, value))
    except (OverflowError, TypeError, ValueError):
        raise InvalidFilter(f"{value!r} is not a number a filter can compare") from None
