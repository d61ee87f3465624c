"""What the OpenAPI document says of each SCIM route beyond its path: the
query parameters and headers it reads (RFC 7644 §3.4.2, §3.14) and, as the
routes read raw bodies, the SCIM JSON body it takes, with the body's schema
derived from the scim2-models classes that validate it. Given to the routes
as `openapi_extra`; FastAPI merges it into the generated operation."""

from typing import Any

from pydantic import BaseModel
from scim2_models import BulkRequest, Group, PatchOp, SearchRequest

from scim_facade.parsing import UserModel

__all__ = ["BULK", "GROUP", "ID", "LIST", "ME", "PATCH_GROUP", "PATCH_USER", "SEARCH", "USER"]

_MEDIA_TYPES = ("application/scim+json", "application/json")
_Schema = dict[str, Any]


def _inlined(node: Any, defs: _Schema, seen: frozenset[str]) -> Any:
    """`node` with every `#/$defs/...` reference replaced by its definition
    (a recursive one by an open schema): the refs of pydantic's schemas point
    into the schema itself, not into the OpenAPI document."""
    if isinstance(node, list):
        return [_inlined(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")  # a schema reference, or SCIM's "$ref" attribute
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        return {} if name in seen else _inlined(defs[name], defs, seen | {name})
    return {key: _inlined(value, defs, seen) for key, value in node.items() if key != "$defs"}


def _schema(model: type[BaseModel]) -> _Schema:
    raw = model.model_json_schema(mode="validation")
    inlined: _Schema = _inlined(raw, raw.get("$defs", {}), frozenset())
    return inlined


def _body(model: type[BaseModel], description: str) -> _Schema:
    schema = _schema(model)
    content = {media_type: {"schema": schema} for media_type in _MEDIA_TYPES}
    return {"required": True, "description": description, "content": content}


def _parameter(where: str, name: str, schema: _Schema, description: str) -> _Schema:
    return {
        "in": where,
        "name": name,
        "required": False,
        "schema": schema,
        "description": description,
    }


_TEXT: _Schema = {"type": "string"}
_PROJECTION = [
    _parameter("query", "attributes", _TEXT, "attributes to return (RFC 7644 §3.4.2.5)"),
    _parameter("query", "excludedAttributes", _TEXT, "attributes to leave out (§3.4.2.5)"),
]
_IF_MATCH = _parameter("header", "If-Match", _TEXT, "the ETag the write expects (§3.14)")
_IF_NONE_MATCH = _parameter("header", "If-None-Match", _TEXT, "304 if this ETag is current")
_ORDER: _Schema = {"type": "string", "enum": ["ascending", "descending"]}
_LIST = [
    _parameter("query", "filter", _TEXT, "a filter expression (RFC 7644 §3.4.2.2)"),
    _parameter("query", "sortBy", _TEXT, "the attribute to sort by (§3.4.2.3)"),
    _parameter("query", "sortOrder", _ORDER, "ascending or descending (§3.4.2.3)"),
    _parameter("query", "startIndex", {"type": "integer"}, "1-based index (§3.4.2.4)"),
    _parameter("query", "count", {"type": "integer"}, "the page size (§3.4.2.4)"),
    _parameter("query", "cursor", _TEXT, "the page to read by cursor (RFC 9865)"),
    *_PROJECTION,
]


def _operation(*parameters: _Schema, body: _Schema | None = None) -> _Schema:
    extra: _Schema = {"parameters": list(parameters)}
    if body is not None:
        extra["requestBody"] = body
    return extra


LIST = _operation(*_LIST)
ID = {
    "get": _operation(*_PROJECTION, _IF_NONE_MATCH),
    "delete": _operation(_IF_MATCH),
}
SEARCH = _operation(body=_body(SearchRequest, "a SearchRequest (RFC 7644 §3.4.3)"))
USER = {
    "post": _operation(*_PROJECTION, body=_body(UserModel, "a User (RFC 7643 §4.1)")),
    "put": _operation(*_PROJECTION, _IF_MATCH, body=_body(UserModel, "the User's new state")),
}
GROUP = {
    "post": _operation(*_PROJECTION, body=_body(Group, "a Group (RFC 7643 §4.2)")),
    "put": _operation(*_PROJECTION, _IF_MATCH, body=_body(Group, "the Group's new state")),
}
PATCH_USER = _operation(
    *_PROJECTION, _IF_MATCH, body=_body(PatchOp[UserModel], "a PatchOp (RFC 7644 §3.5.2)")
)
PATCH_GROUP = _operation(
    *_PROJECTION, _IF_MATCH, body=_body(PatchOp[Group], "a PatchOp (RFC 7644 §3.5.2)")
)
BULK = _operation(body=_body(BulkRequest, "a BulkRequest (RFC 7644 §3.7)"))
ME = _operation(_parameter("path", "rest", _TEXT, "anything under /Me") | {"required": True})
