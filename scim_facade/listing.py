"""Query parameters of list and search requests (RFC 7644 §3.4.2, §3.4.3 and
RFC 9865) translated into an identity.v1 List request, and the ListResponse.

Where the RFCs leave room, these are the rules:

- Index pagination unless the request names a `cursor` (RFC 9865 §2.4: index
  stays the default). An empty `cursor` asks for the first page; a cursor is
  identity.v1's page token, opaque and bound to the tenant, the filter and
  the order, so a changed query answers 400 invalidCursor. Cursors do not
  expire (keyset pages), so expiredCursor is never answered.
- `startIndex` together with `cursor` names two pagination methods at once:
  400 invalidValue.
- `count` is capped at the advertised maximum in both methods (RFC 9865 §4
  maxPageSize: "regardless of what is specified for the count"); a negative
  count is 0, which answers only totalResults. A count that is not an integer
  is 400 invalidCount (RFC 9865 §2.1).
- `sortBy` names one of SORTABLE, in any case and with or without the core
  schema URN; anything else is 400 invalidValue rather than an order the
  client did not ask for. `sortOrder` without `sortBy` is ignored.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from scim2_models import SearchRequest

from scim_facade.errors import ScimError, invalid_syntax, invalid_value

LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
# SCIM sortBy (lower-cased) -> identity.v1 order_by field.
SORTABLE = {
    "username": "user_name",
    "displayname": "display_name",
    "externalid": "external_id",
    "meta.created": "create_time",
    "meta.lastmodified": "update_time",
}
# identity.v1 refuses longer filters; refusing them here spares the parse.
MAX_FILTER_LENGTH = 4096
# identity.v1 skip is an int32: a startIndex beyond it is past every result.
_MAX_SKIP = 2**31 - 1
_MAX_START_INDEX = 2**63 - 1
_CORE_URN = re.compile(r"^urn:ietf:params:scim:schemas:core:2\.0:(user|group):", re.IGNORECASE)
# SearchRequest members this module reads itself: the filter is validated
# against the resource's model, the order against SORTABLE.
_OWN_KEYS = {"filter", "sortby", "sortorder"}
_CANONICAL = {
    name.lower(): name
    for name in ("schemas", "attributes", "excludedAttributes", "startIndex", "count", "cursor")
}


@dataclass(frozen=True)
class ListParams:
    filter: str = ""
    sort_by: str = ""
    descending: bool = False
    start_index: int = 1
    count: int | None = None
    # None: index pagination; "" the first page by cursor.
    cursor: str | None = None
    attributes: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()


def from_query(query: Mapping[str, Any]) -> ListParams:
    """ListParams from the query parameters of GET (RFC 7644 §3.4.2); names
    are case-insensitive (Entra sends "startIndex", some clients "startindex")."""
    values = {str(k).lower(): v for k, v in query.items()}
    # "count=" is no count; "cursor=" is the first page by cursor.
    values = {k: v for k, v in values.items() if v != "" or k == "cursor"}
    paging = {_CANONICAL[k]: values[k] for k in ("startindex", "count", "cursor") if k in values}
    return _params(values, _validated(paging))


def from_search(body: Mapping[str, Any]) -> ListParams:
    """ListParams from a SearchRequest body (RFC 7644 §3.4.3), validated by
    scim2-models; member names are case-insensitive."""
    values = {str(k).lower(): v for k, v in body.items()}
    checked = {_CANONICAL.get(k, k): v for k, v in values.items() if k not in _OWN_KEYS}
    request = _validated(checked)
    text = values.get("filter")
    if text is not None and not isinstance(text, str):
        raise ScimError(400, "invalid filter: the filter must be a string", "invalidFilter")
    return _params(values, request)


def _params(values: Mapping[str, Any], request: SearchRequest[Any]) -> ListParams:
    if request.cursor is not None and request.start_index is not None:
        raise invalid_value("use startIndex or cursor, not both (RFC 9865 §2.4)")
    return ListParams(
        filter=str(values.get("filter") or ""),
        sort_by=str(values.get("sortby") or ""),
        descending=_descending(values.get("sortorder")),
        # RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1 (done by
        # SearchRequest, as a negative count is read as 0). Past every
        # result, a larger startIndex answers the same empty page: it is
        # capped where the answer can still carry it (a 64-bit integer).
        start_index=min(request.start_index or 1, _MAX_START_INDEX),
        count=request.count,
        cursor=request.cursor,
        attributes=tuple(request.attributes or ()),
        excluded_attributes=tuple(request.excluded_attributes or ()),
    )


def _descending(raw: Any) -> bool:
    order = str(raw or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise invalid_value("sortOrder must be ascending or descending")
    return order == "descending"


def _validated(values: Mapping[str, Any]) -> SearchRequest[Any]:
    try:
        return SearchRequest.model_validate(values)
    except ValidationError as exc:
        raise _paging_error(exc) from exc


def _paging_error(exc: ValidationError) -> ScimError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    detail = f"{where}: {first['msg']}" if where else str(first["msg"])
    scim_type = (first.get("ctx") or {}).get("scim_type")
    if scim_type:
        return ScimError(400, detail, str(scim_type))
    if where == "count":
        return ScimError(400, detail, "invalidCount")
    if first["type"] == "extra_forbidden":
        return invalid_syntax(f"{where} is not a SearchRequest attribute (RFC 7644 §3.4.3)")
    if first["type"] == "schema_error":
        return invalid_syntax(detail)
    return invalid_value(detail)


def identity_filter(expression: str, model: Any) -> str:
    """The identity.v1 filter for a SCIM filter: checked against the resource's
    schema by scim2-models (unknown attributes, operators and values the
    attribute cannot take: 400 invalidFilter), evaluated in the database.
    Entra's `emails[type eq "work"].value eq "x"` comes out as the value filter
    `emails[type eq "work" and value eq "x"]`."""
    if not expression.strip():
        return ""
    if len(expression) > MAX_FILTER_LENGTH:
        raise _invalid_filter(f"longer than {MAX_FILTER_LENGTH} characters")
    try:
        parsed = SearchRequest[model].model_validate({"filter": expression}).filter
    except ValidationError as exc:
        raise _invalid_filter(str(exc.errors()[0]["msg"])) from exc
    return "" if parsed is None else str(parsed.ast)


def _invalid_filter(reason: str) -> ScimError:
    return ScimError(400, f"invalid filter: {reason}", "invalidFilter")


def order_by(params: ListParams) -> str:
    """The identity.v1 order_by of sortBy/sortOrder (RFC 7644 §3.4.2.3);
    identity.v1 breaks ties by id, so pages are stable."""
    if not params.sort_by:
        return ""
    field = SORTABLE.get(_CORE_URN.sub("", params.sort_by.strip()).lower())
    if field is None:
        raise invalid_value(
            f"cannot sort by {params.sort_by!r}; sortable: userName, "
            "displayName, externalId, meta.created, meta.lastModified"
        )
    return f"{field} desc" if params.descending else field


def page_size(params: ListParams, maximum: int) -> int:
    """RFC 7644 §3.4.2.4: count is capped at the advertised maximum, and is the
    maximum when absent; negative is read as 0."""
    if params.count is None:
        return maximum
    return min(max(params.count, 0), maximum)


def skip(params: ListParams) -> int:
    """How many results come before the page (index pagination only)."""
    if params.cursor is not None:
        return 0
    return min(params.start_index - 1, _MAX_SKIP)


def response(
    resources: list[dict[str, Any]],
    total: int,
    params: ListParams,
    next_cursor: str | None = None,
) -> dict[str, Any]:
    """The ListResponse (RFC 7644 §3.4.2); by cursor it carries nextCursor
    except on the last page, and no startIndex (RFC 9865 §2)."""
    body: dict[str, Any] = {"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": total}
    if params.cursor is None:
        body["startIndex"] = params.start_index
    body["itemsPerPage"] = len(resources)
    if next_cursor and params.cursor is not None:
        body["nextCursor"] = next_cursor
    body["Resources"] = resources
    return body


def list_request(
    expression: str, order_by: str, size: int, skip: int, token: str
) -> dict[str, Any]:
    """The fields of an identity.v1 ListUsers or ListGroups request."""
    return {
        "parent": "tenants/-",
        "filter": expression,
        "order_by": order_by,
        # count=0 asks only for totalResults: read one row for the total.
        "page_size": max(size, 1),
        "skip": skip,
        "page_token": token,
    }
