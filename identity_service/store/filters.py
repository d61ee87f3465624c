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
- Limits (INVALID_FILTER with a BadRequest on `filter`): at most
  MAX_FILTER_LENGTH characters, MAX_FILTER_TERMS comparisons and presence
  tests (each one a condition the database evaluates on every candidate row),
  and 32 nested expressions (scim2-models' parser refuses deeper ones, which
  bounds the recursion of the compiler below).
"""

import re

import sqlalchemy as sa
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from identity_service.domain.errors import FieldViolation, InvalidFilter
from identity_service.store.filter_attributes import group_attribute, user_attribute
from identity_service.store.filter_compounds import MultiValued
from identity_service.store.filter_scalars import Attribute, Condition, Resolver

__all__ = ["MAX_FILTER_LENGTH", "MAX_FILTER_TERMS", "group_filter", "user_filter"]

MAX_FILTER_LENGTH = 4096
MAX_FILTER_TERMS = 100
# What no stored string holds, so no compared one may: NUL (PostgreSQL text
# cannot hold it) and lone surrogates (not UTF-8; only a JSON escape such as
# \ud800 in a filter literal makes one).
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def user_filter(expression: str) -> sa.ColumnElement[bool]:
    """The SQL condition on `users` rows of an identity.v1 ListUsers filter."""
    return _compile(expression, user_attribute)


def group_filter(expression: str) -> sa.ColumnElement[bool]:
    """The SQL condition on `groups` rows of an identity.v1 ListGroups filter."""
    return _compile(expression, group_attribute)


def _compile(expression: str, resolve: Resolver) -> Condition:
    if len(expression) > MAX_FILTER_LENGTH:
        raise _invalid(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    if not expression.strip():
        return sa.true()
    try:
        tree = ScimFilter(expression).ast
    except InvalidFilterException as exc:
        raise InvalidFilter(f"the filter does not parse: {exc.detail}") from exc
    if _terms(tree) > MAX_FILTER_TERMS:
        raise _invalid(f"the filter has more than {MAX_FILTER_TERMS} comparisons")
    return _Compiler(resolve).visit(tree)


def _terms(tree: FilterNode) -> int:
    """How many comparisons and presence tests `tree` holds (no recursion)."""
    count, pending = 0, [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, LogicalExpr):
            pending.extend(node.terms)
        elif isinstance(node, Not):
            pending.append(node.expr)
        elif isinstance(node, ValuePath):
            pending.append(node.val_filter)
        else:
            count += 1
    return count


def _invalid(message: str) -> InvalidFilter:
    return InvalidFilter(message, violations=[FieldViolation("filter", message)])


class _Compiler(FilterVisitor[Condition]):
    def __init__(self, resolve: Resolver) -> None:
        self.resolve = resolve

    def visit_comparison(self, node: Comparison) -> Condition:
        attribute = self.resolve(node.attr_path)
        if isinstance(node.value, str) and _NOT_TEXT.search(node.value):
            raise InvalidFilter(
                f"the value compared with {attribute.label} holds NUL or a lone surrogate"
            )
        if node.value is None:
            return _compare_null(attribute, node.op)
        if isinstance(node.value, str) and "\x00" in node.value:
            # No stored value holds NUL (PostgreSQL's text cannot).
            raise _invalid("a filter value cannot contain NUL (\\u0000)")
        if node.op is CompareOperator.ne:
            return sa.not_(attribute.compare(CompareOperator.eq, node.value))
        return attribute.compare(node.op, node.value)

    def visit_present(self, node: Present) -> Condition:
        return self.resolve(node.attr_path).present()

    def visit_not(self, node: Not) -> Condition:
        return sa.not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> Condition:
        terms = [self.visit(term) for term in node.terms]
        return sa.and_(*terms) if node.op is LogicalOperator.and_ else sa.or_(*terms)

    def visit_value_path(self, node: ValuePath) -> Condition:
        attribute = self.resolve(node.attr_path)
        if not isinstance(attribute, MultiValued):
            raise InvalidFilter(f"{attribute.label} is not multi-valued: [...] needs a list")
        return attribute.any(lambda element: _Compiler(element).visit(node.val_filter))


def _compare_null(attribute: Attribute, op: CompareOperator) -> Condition:
    # RFC 7643 §2.5: unassigned and null are the same state.
    if op is CompareOperator.eq:
        return sa.not_(attribute.present())
    if op is CompareOperator.ne:
        return attribute.present()
    raise InvalidFilter(f"null can only be compared with eq or ne, not {op.value!r}")
