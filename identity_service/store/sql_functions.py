"""SQL functions that SQLite and PostgreSQL spell differently, written once for the
filter compiler. Each renders the same result on both engines; every test of a JSON
value is two-valued, never NULL. (The case-folding twin `folded` is in engine.py.)"""

from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

__all__ = [
    "bytewise",
    "json_elements",
    "json_is_false",
    "json_is_number",
    "json_is_present",
    "json_is_text",
    "json_is_true",
    "position",
]


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


class position(_Shim):  # noqa: N801 - SQL function style
    """1-based position of a substring, 0 when absent; case-sensitive on both."""

    inherit_cache = True
    type = sa.Integer()
    sqlite, postgresql = "instr({args})", "strpos({args})"


class bytewise(_Shim):  # noqa: N801
    """A string ordered by code point, as SQLite's BINARY and PostgreSQL's "C"."""

    inherit_cache = True
    type = sa.String()
    sqlite, postgresql = "{args}", '({args}) COLLATE "C"'


class json_elements(_Shim):  # noqa: N801
    """The elements of a JSON array, one row each, in a column `value`."""

    inherit_cache = True
    sqlite, postgresql = "json_each({doc}, {path})", "jsonb_array_elements({args})"


class json_is_text(_Shim):  # noqa: N801
    """Whether the JSON value at `document[path]` is a string."""

    inherit_cache = True
    type = sa.Boolean()
    sqlite = "(coalesce(json_type({doc}, {path}), '') = 'text')"
    postgresql = "(coalesce(jsonb_typeof({args}), '') = 'string')"


class json_is_number(json_is_text):  # noqa: N801
    inherit_cache = True
    sqlite = "(coalesce(json_type({doc}, {path}), '') IN ('integer', 'real'))"
    postgresql = "(coalesce(jsonb_typeof({args}), '') = 'number')"


class json_is_true(json_is_text):  # noqa: N801
    inherit_cache = True
    sqlite = "(coalesce(json_type({doc}, {path}), '') = 'true')"
    postgresql = "coalesce(({args}) = 'true'::jsonb, false)"


class json_is_false(json_is_text):  # noqa: N801
    inherit_cache = True
    sqlite = "(coalesce(json_type({doc}, {path}), '') = 'false')"
    postgresql = "coalesce(({args}) = 'false'::jsonb, false)"


class json_is_present(json_is_text):  # noqa: N801
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
