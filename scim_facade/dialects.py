"""The dialects IdPs really send, made strict RFC 7643/7644 before the core
sees a request. This is the one place that tolerates deviations; everything
after it (scim2-models validation in the RFC's request contexts, PatchOp) is
strict but for the tolerances scim2-models grants by name.

Handled here:
- Both, and RFC clients: `active` left out of a POST (an active user) or a
  PUT (the status stays), though every Roster user has one.
- Entra: read-only attributes in POST/PUT bodies (`id`, `meta`, `groups`),
  some with values that would not even validate; RFC 7643 §2.2 says they are
  ignored, so they are dropped before validation.
- Entra: the enterprise `manager` as a bare id string or a one-element array,
  in bodies, in PATCH values and at the PATCH paths `manager` and
  `urn:...:enterprise:2.0:User:manager`; nobody sends the `$ref` scim2-models
  requires, so it is derived.

Handled by scim2-models (each pinned by a test in tests/facade/test_dialects.py):
- Entra: `op` in any case ("Add", "Replace", "Remove"); booleans as strings
  ("True", "False"); no-path replace values with dotted keys
  ("name.givenName") and enterprise URN keys; paths with the enterprise URN
  prefix; Okta: no-path replace with an object value ({"active": false}).
- Both: attribute names in any case (RFC 7643 §2.1), nulls for attributes
  without a value, empty multi-valued attributes ("roles": []).
- Policies (scim_facade.parsing._TOLERANT, scim_facade.patch.POLICY): unknown
  attributes and schema URNs dropped (Microsoft's ADSCIM URN); Entra's
  `remove` carrying the values to remove; add/replace of
  emails[type eq "work"].value creating the entry the filter describes, so
  several operations on one filtered entry build a single entry.
"""

from functools import cache
from typing import Any

from scim2_models import Mutability

ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_MANAGER_PATHS = {"manager", f"{ENTERPRISE_SCHEMA}:manager".lower()}


def manager(value: Any) -> Any:
    """Entra: the manager as a bare id string or a one-element array; no
    `$ref` (which scim2-models requires) from anyone: it is derived."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        value = {"value": value} if value else None
    if isinstance(value, dict) and value.get("value") and not value.get("$ref"):
        value = {**value, "$ref": f"Users/{value['value']}"}
    return value


@cache
def _read_only(model: Any) -> frozenset[str]:
    """The lower-cased names of a model's read-only top-level attributes."""
    return frozenset(
        str(field.serialization_alias or name).lower()
        for name, field in model.model_fields.items()
        if model.get_field_annotation(name, Mutability) == Mutability.read_only
    )


def _with_manager(extension: Any) -> Any:
    """The enterprise extension object with its manager made strict."""
    if not isinstance(extension, dict):
        return extension
    normalised = dict(extension)
    for key in extension:
        if key.lower() == "manager":
            normalised[key] = manager(extension[key])
    return normalised


def resource(
    body: dict[str, Any], model: Any, defaults: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A POST or PUT body in the dialects of Okta and Entra, made strict;
    `defaults` fills the required attributes a client may leave out."""
    filled = {k.lower(): v for k, v in (defaults or {}).items()}
    ignored = _read_only(model)
    strict = {}
    for key, value in body.items():
        lowered = key.lower()
        if lowered in ignored or (value is None and lowered in filled):
            continue
        strict[key] = _with_manager(value) if lowered == ENTERPRISE_SCHEMA.lower() else value
    given = {key.lower() for key in strict}
    strict.update((k, v) for k, v in filled.items() if k not in given)
    return strict


def gives(body: dict[str, Any], attribute: str) -> bool:
    """Whether a POST or PUT body gives the (lower-case) `attribute` a
    value, in any case; null is no value, as `resource` reads it."""
    return any(key.lower() == attribute and value is not None for key, value in body.items())


def _operation(operation: dict[str, Any]) -> dict[str, Any]:
    """One PATCH operation with the manager forms made strict."""
    keys = {key.lower(): key for key in operation}
    path_key, value_key = keys.get("path"), keys.get("value")
    path = operation.get(path_key) if path_key else None
    value = operation.get(value_key) if value_key else None
    normalised = dict(operation)
    if isinstance(path, str) and path.lower() in _MANAGER_PATHS:
        normalised[path_key or "path"] = f"{ENTERPRISE_SCHEMA}:manager"
        is_remove = str(operation.get(keys.get("op", "op"), "")).lower() == "remove"
        # Entra names the manager it removes; there is only one to remove.
        if is_remove and value_key:
            del normalised[value_key]
        elif value_key:
            normalised[value_key] = manager(value)
    elif isinstance(path, str) and path.lower() == ENTERPRISE_SCHEMA.lower() and value_key:
        normalised[value_key] = _with_manager(value)
    elif path is None and isinstance(value, dict) and value_key:
        normalised[value_key] = _no_path_value(value)
    return normalised


def _no_path_value(value: dict[str, Any]) -> dict[str, Any]:
    """A no-path add/replace value: its keys are attribute paths."""
    normalised = {}
    for key, item in value.items():
        lowered = key.lower()
        if lowered in _MANAGER_PATHS:
            normalised[f"{ENTERPRISE_SCHEMA}:manager"] = manager(item)
        elif lowered == ENTERPRISE_SCHEMA.lower():
            normalised[key] = _with_manager(item)
        else:
            normalised[key] = item
    return normalised


def patch(body: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp body of Okta or Entra, made strict."""
    normalised = dict(body)
    for key, operations in body.items():
        if key.lower() == "operations" and isinstance(operations, list):
            normalised[key] = [_operation(op) if isinstance(op, dict) else op for op in operations]
    return normalised
