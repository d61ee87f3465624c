"""Query parameters of list and search requests (RFC 7644 §3.4.2, RFC 9865)
translated into an identity.v1 List request, and the ListResponse."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter

from scim_facade.errors import ScimError, invalid_value

LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
# SCIM sortBy -> identity.v1 order_by field (the sortable attributes).
SORTABLE = {
    "username": "user_name",
    "displayname": "display_name",
    "externalid": "external_id",
    "meta.created": "create_time",
    "meta.lastmodified": "update_time",
}


@dataclass(frozen=True)
class ListParams:
    filter: str = ""
    sort_by: str = ""
    descending: bool = False
    start_index: int = 1
    count: int | None = None
    cursor: str | None = None


def _integer(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise invalid_value(f"{name} must be an integer") from exc


def from_query(query: Mapping[str, Any]) -> ListParams:
    """ListParams from query parameters or a SearchRequest body; names are
    case-insensitive (Entra sends "startIndex", some clients "startindex")."""
    values = {str(k).lower(): v for k, v in query.items()}
    order = str(values.get("sortorder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise invalid_value("sortOrder must be ascending or descending")
    start = _integer(_text(values.get("startindex")), "startIndex")
    cursor = values.get("cursor")
    return ListParams(
        filter=str(values.get("filter") or ""),
        sort_by=str(values.get("sortby") or ""),
        descending=order == "descending",
        # RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1.
        start_index=max(start or 1, 1),
        count=_integer(_text(values.get("count")), "count"),
        cursor=None if cursor is None else str(cursor),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def identity_filter(expression: str, model: Any) -> str:
    """The identity.v1 filter for a SCIM filter: checked against the
    resource's schema here (400 invalidFilter), evaluated in the database."""
    if not expression.strip():
        return ""
    try:
        parsed = ScimFilter[model](expression)
    except InvalidFilterException as exc:
        raise ScimError(400, f"invalid filter: {exc.detail}", "invalidFilter") from exc
    except ValueError as exc:
        raise ScimError(400, f"invalid filter: {exc}", "invalidFilter") from exc
    return str(parsed.ast)


def order_by(params: ListParams) -> str:
    if not params.sort_by:
        return ""
    field = SORTABLE.get(params.sort_by.lower())
    if field is None:
        raise invalid_value(
            f"cannot sort by {params.sort_by!r}; sortable: userName, "
            "displayName, externalId, meta.created, meta.lastModified"
        )
    return f"{field} desc" if params.descending else field


def page_size(params: ListParams, maximum: int) -> int:
    """RFC 7644 §3.4.2.4: count is capped at the advertised maximum; negative
    is read as 0."""
    if params.count is None:
        return maximum
    return min(max(params.count, 0), maximum)


def response(
    resources: list[dict[str, Any]],
    total: int,
    params: ListParams,
    next_cursor: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": total}
    if params.cursor is None:
        body["startIndex"] = params.start_index
    body["itemsPerPage"] = len(resources)
    if next_cursor:
        body["nextCursor"] = next_cursor
    body["Resources"] = resources
    return body
