"""Ordering and keyset paging: a page starts strictly after the sort key of
the previous page's last row, so deep pages cost what the first one costs."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from identity_service.domain.errors import InvalidOrderBy, InvalidPageToken

Key = list[Any]


@dataclass(frozen=True)
class SortKey:
    column: sa.ColumnElement[Any]
    descending: bool = False


Orderable = sa.ColumnElement[Any] | tuple[sa.ColumnElement[Any], ...]


def missing_last(column: sa.ColumnElement[Any]) -> tuple[sa.ColumnElement[Any], ...]:
    """Sort keys of a nullable column that put rows without a value last when
    ascending and first when descending (RFC 7644 §3.4.2.3), in a form keyset
    paging can compare (no NULLs)."""
    return (sa.case((column.is_(None), 1), else_=0), sa.func.coalesce(column, ""))


def parse_order_by(
    order_by: str, allowed: Mapping[str, Orderable], tie_break: sa.ColumnElement[Any]
) -> list[SortKey]:
    """AIP-132 order_by ("field [desc], ...") over the allowed fields, then the
    tie-break column, so the order is total and stable across pages."""
    keys: list[SortKey] = []
    for part in filter(None, (p.strip() for p in order_by.split(","))):
        words = part.split()
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise InvalidOrderBy(f"cannot order by {part!r}: expected 'field' or 'field desc'")
        columns = allowed.get(words[0].lower())
        if columns is None:
            raise InvalidOrderBy(
                f"cannot order by {words[0]!r}; supported: {', '.join(sorted(allowed))}"
            )
        descending = len(words) == 2 and words[1].lower() == "desc"
        for column in columns if isinstance(columns, tuple) else (columns,):
            keys.append(SortKey(column, descending=descending))
    keys.append(SortKey(tie_break))
    return keys


def order_clauses(keys: Sequence[SortKey]) -> list[sa.ColumnElement[Any]]:
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]


def select_columns(keys: Sequence[SortKey]) -> list[sa.ColumnElement[Any]]:
    return [k.column.label(f"_sort{i}") for i, k in enumerate(keys)]


def rows_after(keys: Sequence[SortKey], values: Key) -> sa.ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys` (a row-value
    comparison written out, since the directions may differ)."""
    if len(values) != len(keys):
        raise InvalidPageToken("the page token does not fit this query")
    decoded = [_decode(v) for v in values]
    clauses: list[sa.ColumnElement[bool]] = []
    for i, key in enumerate(keys):
        equal_prefix = [keys[j].column == decoded[j] for j in range(i)]
        beyond = key.column < decoded[i] if key.descending else key.column > decoded[i]
        clauses.append(sa.and_(*equal_prefix, beyond))
    return sa.or_(*clauses)


def key_of(row: sa.Row[Any], keys: Sequence[SortKey]) -> Key:
    """The JSON-safe sort key of a row selected with `select_columns`."""
    return [_encode(row._mapping[f"_sort{i}"]) for i in range(len(keys))]


def _encode(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        try:
            return datetime.fromisoformat(value["t"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidPageToken("the page token is malformed") from exc
    if value is not None and not isinstance(value, str | int | float):
        raise InvalidPageToken("the page token is malformed")
    return value


def fetch_page(
    conn: sa.Connection,
    query: sa.Select[Any],
    keys: Sequence[SortKey],
    *,
    limit: int,
    offset: int,
    after: Key | None,
) -> tuple[list[sa.Row[Any]], Key | None]:
    """Up to `limit` rows of `query` in the order of `keys`, starting after the
    key `after` (or at `offset`), and the key to continue after, or None on
    the last page."""
    query = query.add_columns(*select_columns(keys))
    if after is not None:
        query = query.where(rows_after(keys, after))
    elif offset:
        query = query.offset(offset)
    rows = list(conn.execute(query.order_by(*order_clauses(keys)).limit(limit + 1)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, key_of(rows[-1], keys)
