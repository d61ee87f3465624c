"""PATCH (RFC 7644 §3.5.2) on the SCIM form of a resource. The body goes
through the named dialect step, then scim2-models parses the operations and
applies them, all or none; POLICY is the named tolerance for what Okta and
Entra really send."""

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp, SCIMException, ScimPolicy

from scim_facade import dialects
from scim_facade.errors import ScimError
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


def scim_exception(exc: SCIMException) -> ScimError:
    """scim2-models' own errors carry the RFC's status and scimType."""
    error = exc.to_error()
    return ScimError(int(error.status or 400), error.detail or str(exc), error.scim_type)


def apply(model: Any, resource: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """`resource` (as the facade renders it) after the operations of a
    PatchOp body, all of them or none: an invalid operation raises before
    anything is written."""
    try:
        current = model.model_validate(resource, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        operations = PatchOp[model].model_validate(
            dialects.patch(body), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        operations.patch(current, scim_policy=POLICY)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    except SCIMException as exc:
        raise scim_exception(exc) from exc
    patched: dict[str, Any] = current.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return patched


def apply_to_user(resource: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The user after the operations of a PatchOp body."""
    return apply(UserModel, resource, body)
