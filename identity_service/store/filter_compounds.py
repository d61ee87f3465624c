"""The complex and multi-valued attributes a filter names (RFC 7643 §2.4, §2.3.8):
JSON objects, JSON arrays of objects, and group memberships held in rows of
`group_members`. A condition on a multi-valued attribute holds when one value
satisfies it, as an EXISTS over its values."""

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from scim2_models.path import AttrPath, CompareOperator

from identity_service.domain.errors import InvalidFilter
from identity_service.store.engine import fold
from identity_service.store.filter_scalars import Attribute, Condition, Resolver
from identity_service.store.schema import EMAILS_KEY_SEPARATOR, JSONDocument, metadata
from identity_service.store.sql_functions import json_elements, json_is_present, position

__all__ = [
    "Complex",
    "JsonArray",
    "Memberships",
    "MultiValued",
    "Spec",
    "Subs",
    "lookup",
    "norm",
]

_T = TypeVar("_T")
# What a value compared so looks like in a JsonArray's keys column.
_KEY_SEARCHES = {
    CompareOperator.co: "{0}",
    CompareOperator.sw: "{s}{0}",
    CompareOperator.ew: "{0}{s}",
    CompareOperator.eq: "{s}{0}{s}",
}
_MEMBERS = metadata.tables["group_members"]
Spec = Callable[[str, sa.ColumnElement[Any], tuple[str, ...]], Attribute]
"""Makes the attribute named `label` held at `document[path]`."""
Subs = Mapping[str, tuple[str, Spec]]
"""Sub-attributes by normalised name: the JSON key and the kind of each."""


def norm(name: str) -> str:
    """Attribute names match case-insensitively, in SCIM or in proto spelling."""
    return name.lower().replace("_", "")


def lookup(label: str, table: Mapping[str, _T], name: str) -> _T:
    """The entry of sub-attribute `name` of `label`, which must have one."""
    if (found := table.get(norm(name))) is None:
        raise InvalidFilter(f"{label} has no sub-attribute {name!r}")
    return found


@dataclass(frozen=True)
class Complex(Attribute):
    """A singular complex attribute stored as a JSON object."""

    label: str
    doc: sa.ColumnElement[Any]
    path: tuple[str, ...]
    subs: Subs

    def present(self) -> Condition:
        return json_is_present(self.doc[self.path])

    def sub(self, name: str) -> Attribute:
        key, spec = lookup(self.label, self.subs, name)
        return spec(f"{self.label}.{name}", self.doc, (*self.path, key))


class MultiValued(Attribute):
    """A multi-valued attribute: a filter on it holds if one value satisfies it."""

    label: str

    @abstractmethod
    def any(self, condition: Callable[[Resolver], Condition]) -> Condition:
        """EXISTS a value for which `condition`, given its sub-attributes, holds."""

    def compare(self, op: CompareOperator, value: object) -> Condition:
        # Without a sub-attribute, a comparison applies to `value` (RFC 7644 §3.4.2.2).
        return self.sub("value").compare(op, value)

    def sub(self, name: str) -> Attribute:
        return _Each(f"{self.label}.{name}", self, name)

    def compare_each(self, name: str, op: CompareOperator, value: object) -> Condition | None:
        """The condition that one value's sub-attribute `name` compares so,
        when the attribute keeps a faster form of it than `any`; else None."""
        return None


@dataclass(frozen=True)
class _Each(Attribute):
    """`emails.type` and the like: the sub-attribute of any one value."""

    label: str
    values: MultiValued
    name: str

    def compare(self, op: CompareOperator, value: object) -> Condition:
        kept = self.values.compare_each(self.name, op, value)
        if kept is not None:
            return kept
        return self.values.any(lambda element: element(AttrPath(self.name)).compare(op, value))

    def present(self) -> Condition:
        return self.values.any(lambda element: element(AttrPath(self.name)).present())


def _element(label: str, subs: Mapping[str, _T], make: Callable[[str, _T], Attribute]) -> Resolver:
    """Resolves the names inside `attr[...]` to sub-attributes of one value."""

    def resolve(path: AttrPath) -> Attribute:
        if path.uri or path.sub_attr or (sub := subs.get(norm(path.attr))) is None:
            raise InvalidFilter(f"{label} has no sub-attribute {str(path)!r}")
        return make(f"{label}.{path.attr}", sub)

    return resolve


@dataclass(frozen=True)
class JsonArray(MultiValued):
    """A JSON array of objects, such as `emails`. `keys`, when given, is a
    column holding the folded string `value`s of its entries, each between
    two EMAILS_KEY_SEPARATORs (NULL when there is none): a string
    comparison on `value` is then one C string search in it."""

    label: str
    at: sa.ColumnElement[Any]
    subs: Subs
    keys: sa.ColumnElement[Any] | None = None

    def compare_each(self, name: str, op: CompareOperator, value: object) -> Condition | None:
        if (
            self.keys is None
            or norm(name) != "value"
            or op not in _KEY_SEARCHES
            or not isinstance(value, str)
            or EMAILS_KEY_SEPARATOR in value
        ):
            return None
        needle = _KEY_SEARCHES[op].format(fold(value), s=EMAILS_KEY_SEPARATOR)
        return sa.and_(self.keys.is_not(None), position(self.keys, sa.literal(needle)) > 0)

    def any(self, condition: Callable[[Resolver], Condition]) -> Condition:
        rows = json_elements(self.at).table_valued(sa.column("value", JSONDocument))
        element = _element(self.label, self.subs, lambda label, s: s[1](label, rows.c.value, s[:1]))
        return sa.exists().select_from(rows).where(condition(element))

    def present(self) -> Condition:
        return json_is_present(self.at)


@dataclass(frozen=True)
class Memberships(MultiValued):
    """User.groups or Group.members: rows of group_members in the owner's tenant."""

    label: str
    owner: sa.Table
    own_column: str
    fields: Mapping[str, Callable[[str, sa.FromClause], Attribute]]
    scope: Callable[[sa.FromClause], Condition] = field(default=lambda _rows: sa.true())

    def any(self, condition: Callable[[Resolver], Condition]) -> Condition:
        rows = _MEMBERS.alias()
        element = _element(self.label, self.fields, lambda label, make: make(label, rows))
        return sa.exists().where(
            rows.c.tenant_id == self.owner.c.tenant_id,
            rows.c[self.own_column] == self.owner.c.id,
            self.scope(rows),
            condition(element),
        )

    def present(self) -> Condition:
        return self.any(lambda _element: sa.true())
