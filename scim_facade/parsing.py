"""Request bodies: JSON, then the named dialect normalisation, then
validation by scim2-models in the RFC's request contexts. Anything that does
not validate is a 400 with the RFC's scimType."""

from typing import Any

import orjson
from pydantic import ValidationError
from scim2_models import Context, EnterpriseUser, Group, ScimPolicy, User

from scim_facade import dialects
from scim_facade.errors import ScimError, invalid_syntax, invalid_value

UserModel = User[EnterpriseUser]
# Unknown attributes and schema URNs (Microsoft's ADSCIM Group URN, ...) are
# dropped, not refused: /Schemas says what is kept.
_TOLERANT = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)


def json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_syntax(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid_syntax("the body must be a JSON object")
    return body


def validation_error(exc: ValidationError) -> ScimError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
    if "required" in message.lower() or first.get("type") == "missing":
        return invalid_value(message)
    if "mutab" in message.lower():
        return ScimError(400, message, "mutability")
    return invalid_value(message)


def _validated(model: Any, body: dict[str, Any], context: Context) -> dict[str, Any]:
    try:
        resource = model.model_validate(body, scim_ctx=context, scim_policy=_TOLERANT)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    dumped: dict[str, Any] = resource.model_dump(scim_ctx=context)
    return dumped


def user(body: dict[str, Any], *, replace: bool = False) -> dict[str, Any]:
    """A User body of POST (or PUT with `replace`), validated and canonical."""
    context = Context.RESOURCE_REPLACEMENT_REQUEST if replace else Context.RESOURCE_CREATION_REQUEST
    return _validated(UserModel, dialects.resource(body, UserModel), context)


def group(body: dict[str, Any], *, replace: bool = False) -> dict[str, Any]:
    """A Group body of POST (or PUT with `replace`), validated and canonical."""
    context = Context.RESOURCE_REPLACEMENT_REQUEST if replace else Context.RESOURCE_CREATION_REQUEST
    return _validated(Group, dialects.resource(body, Group), context)
