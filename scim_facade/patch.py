"""PATCH (RFC 7644 §3.5.2) on the SCIM form of a resource. scim2-models
parses the operations and applies them; the policy below is the named
tolerance for what Okta and Entra really send."""

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp, SCIMException, ScimPolicy

from scim_facade.errors import ScimError
from scim_facade.parsing import UserModel, validation_error

# Entra: `remove` carrying the values to remove, and add/replace of
# emails[type eq "work"].value when there is no work email yet (create it).
# Unknown attributes are dropped, as in POST and PUT.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def scim_exception(exc: SCIMException) -> ScimError:
    """scim2-models' own errors carry the RFC's status and scimType."""
    error = exc.to_error()
    return ScimError(int(error.status or 400), error.detail or str(exc), error.scim_type)


def apply_to_user(resource: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The user after the operations of a PatchOp body, all of them or none
    (an invalid operation raises before anything is written)."""
    try:
        user = UserModel.model_validate(resource, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        operations = PatchOp[UserModel].model_validate(
            body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        operations.patch(user, scim_policy=POLICY)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    except SCIMException as exc:
        raise scim_exception(exc) from exc
    patched: dict[str, Any] = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return patched
