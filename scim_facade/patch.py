"""PATCH (RFC 7644 §3.5.2) on the SCIM form of a resource. The body goes
through the named dialect step, then scim2-models parses the operations and
applies them, all or none; POLICY is the named tolerance for what Okta and
Entra really send."""

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp, PatchOperation, SCIMException, ScimPolicy

from scim_facade import dialects
from scim_facade.errors import ScimError, invalid_value
from scim_facade.mapping.users import CORE_SCHEMA
from scim_facade.parsing import UserModel, validation_error

# Entra: `remove` carrying the values to remove, and add/replace of
# emails[type eq "work"].value when there is no work email yet (create it).
# A filter that describes no entry (anything but `eq` joined by `and`) still
# matches nothing: 400 noTarget (RFC 7644 §3.5.2.3). Unknown attributes are
# dropped, as in POST and PUT.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
# The most operations one PATCH request may carry (400 invalidValue beyond):
# Okta and Entra send a few, listing many members in one operation's value.
MAX_PATCH_OPERATIONS = 100
# A PatchOp on users: the type its paths resolve against.
UserPatch = PatchOp[UserModel]
# `active` as a path or a no-path value key, lower-cased (RFC 7643 §2.1).
_ACTIVE = frozenset({"active", f"{CORE_SCHEMA}:active".lower()})
# The strings an IdP sends for a boolean (Entra: "False") and what
# scim2-models reads them as.
_BOOLEANS = {"true": True, "false": False}


def scim_exception(exc: SCIMException) -> ScimError:
    """scim2-models' own errors carry the RFC's status and scimType."""
    error = exc.to_error()
    return ScimError(int(error.status or 400), error.detail or str(exc), error.scim_type)


def limit_operations(body: dict[str, Any]) -> dict[str, Any]:
    """`body`, refused with 400 invalidValue when it carries more than
    MAX_PATCH_OPERATIONS operations (RFC 7644 §3.12 has no scimType closer)."""
    for key, operations in body.items():
        many = isinstance(operations, list) and len(operations) > MAX_PATCH_OPERATIONS
        if many and key.lower() == "operations":
            raise invalid_value(f"at most {MAX_PATCH_OPERATIONS} PATCH operations per request")
    return body


def parse_user(body: dict[str, Any]) -> UserPatch:
    """The operations of a PatchOp body on a user, checked against the
    schema (the errors any user would have: unknown op, bad path, read-only
    or required attribute)."""
    try:
        operations: UserPatch = UserPatch.model_validate(
            dialects.patch(limit_operations(body)),
            scim_ctx=Context.RESOURCE_PATCH_REQUEST,
            scim_policy=POLICY,
        )
    except ValidationError as exc:
        raise validation_error(exc) from exc
    return operations


def apply_to_user(resource: dict[str, Any], operations: UserPatch) -> dict[str, Any]:
    """The user `resource` (as the facade renders it) after `operations`,
    all of them or none: an invalid operation raises before anything is
    written."""
    try:
        current = UserModel.model_validate(resource, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        operations.patch(current, scim_policy=POLICY)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    except SCIMException as exc:
        raise scim_exception(exc) from exc
    patched: dict[str, Any] = current.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return patched


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return _BOOLEANS.get(value.lower()) if isinstance(value, str) else None


def _active_value(operation: PatchOperation[Any]) -> bool | None:
    """The `active` value an add or replace sets when it sets nothing else."""
    if operation.op == PatchOperation.Op.remove:
        return None
    if operation.path is not None:
        return _boolean(operation.value) if operation.path.lower() in _ACTIVE else None
    value = operation.value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((key, item),) = value.items()
    return _boolean(item) if str(key).lower() in _ACTIVE else None


def active_only(operations: UserPatch) -> bool | None:
    """The status a user PatchOp sets when `active` (as a literal boolean,
    or Entra's "True"/"False") is all it changes, else None. These are Okta's
    and Entra's deactivation and reactivation: their result does not depend
    on the rest of the user."""
    values = [_active_value(operation) for operation in operations.operations or ()]
    if not values or None in values:
        return None
    return values[-1]
