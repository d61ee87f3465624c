"""The dialects IdPs really send, normalised into strict RFC 7644 before the
core sees a request. Each rule names the IdP that needs it.

This is the only place that tolerates deviations; everything after it is
strict."""

from typing import Any

_BOOLEAN_STRINGS = {"true": True, "false": False}


def _canonical_keys(body: dict[str, Any], model: Any) -> dict[str, Any]:
    """Okta and Entra: attribute names in any case ("UserName", "Active")
    become the schema's spelling (RFC 7643 §2.1: names are case-insensitive)."""
    by_lower = {}
    for field in model.model_fields.values():
        alias = field.serialization_alias or field.alias
        if alias:
            by_lower[alias.lower()] = alias
    return {by_lower.get(key.lower(), key): value for key, value in body.items()}


def _booleans(value: Any) -> Any:
    """Entra: booleans sent as strings ("True", "False")."""
    if isinstance(value, str) and value.lower() in _BOOLEAN_STRINGS:
        return _BOOLEAN_STRINGS[value.lower()]
    return value


ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def manager(value: Any) -> Any:
    """Entra: the manager as a bare id string or a one-element array; no
    `$ref` (which RFC 7643 §4.3 requires) from anyone: it is derived."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, dict) and value.get("value") and not value.get("$ref"):
        value = {**value, "$ref": f"Users/{value['value']}"}
    return value


def _enterprise(body: dict[str, Any]) -> None:
    extension = body.get(ENTERPRISE_SCHEMA)
    if isinstance(extension, dict) and "manager" in extension:
        extension = {**extension, "manager": manager(extension["manager"])}
        if extension["manager"] is None:
            del extension["manager"]
        body[ENTERPRISE_SCHEMA] = extension


def resource(body: dict[str, Any], model: Any) -> dict[str, Any]:
    """A POST or PUT body in the dialects of Okta and Entra, made strict."""
    normalised = _canonical_keys(body, model)
    _enterprise(normalised)
    if "active" in normalised:
        normalised["active"] = _booleans(normalised["active"])
    # Entra and Okta send null for attributes they have no value for.
    return {key: value for key, value in normalised.items() if value is not None}
