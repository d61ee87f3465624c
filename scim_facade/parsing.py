"""Request bodies: JSON, then the named dialect normalisation, then
validation by scim2-models in the RFC's request contexts. Anything that does
not validate is a 400 with the RFC's scimType."""

import functools
from dataclasses import dataclass
from inspect import isclass
from typing import Annotated, Any, ClassVar, Generic

import orjson
from pydantic import BaseModel as PydanticBaseModel
from pydantic import ValidationError
from scim2_models import (
    BaseModel,
    ComplexAttribute,
    Context,
    EnterpriseUser,
    Group,
    Required,
    ScimPolicy,
)
from scim2_models import Email as _ScimEmail
from scim2_models import User as _ScimUser
from scim2_models.resources.resource import AnyExtension

from scim_facade import dialects, strict_json
from scim_facade.errors import ScimError, invalid_syntax


class Email(_ScimEmail):
    """An email value is kept as the IdP sent it. RFC 7643 §4.1.2 only says it
    SHOULD follow RFC 5321, and Microsoft asks that values be stored in the
    format sent; scim2-models' EmailStr rewrites the domain's case and refuses
    special-use domains such as Okta's documented test.user@okta.local or an
    Active Directory corp.local."""

    value: str | None = None


class User(_ScimUser[AnyExtension], Generic[AnyExtension]):
    """The SCIM User (RFC 7643 §4.1) as the facade reads it."""

    # A Roster user is always active or deactivated, never without a status
    # (§4.1.1 leaves the meaning of active to the service provider): active
    # cannot be removed (400 mutability). A create without it makes an active
    # user and a PUT without it keeps the status (scim_facade.dialects).
    active: Annotated[bool | None, Required.true] = None
    # A narrower entry type; pydantic validates the field with it.
    emails: list[Email] | None = None  # type: ignore[assignment]
    Emails: ClassVar[type[ComplexAttribute]] = Email


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
    strict_json.check(raw, body)
    return body


def validation_error(exc: ValidationError) -> ScimError:
    """The SCIM error of a failed validation: scim2-models' own errors carry
    their RFC 7644 §3.12 scimType; any other mismatch is invalidValue."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid"))
    detail = f"{where}: {message}" if where else message
    scim_type = (first.get("ctx") or {}).get("scim_type") or "invalidValue"
    return ScimError(400, detail, str(scim_type))


def _validated(model: Any, body: dict[str, Any], context: Context) -> dict[str, Any]:
    resource = _plainly_valid(model, body, context)
    if resource is None:
        # Anything unusual: scim2-models decides, and words the error.
        try:
            resource = model.model_validate(body, scim_ctx=context, scim_policy=_TOLERANT)
        except ValidationError as exc:
            raise validation_error(exc) from exc
    dumped: dict[str, Any] = resource.model_dump(scim_ctx=context)
    return dumped


# The request contexts whose checks _holds_in makes.
_CREATE_OR_REPLACE = (Context.RESOURCE_CREATION_REQUEST, Context.RESOURCE_REPLACEMENT_REQUEST)


def _plainly_valid(model: Any, body: dict[str, Any], context: Context) -> BaseModel | None:
    """The resource scim2-models validates `body` into in `context`, when
    it holds without a question; None otherwise (docs/decisions/0013).
    scim2-models' request checks walk every field of every nested model in
    Python, about two thirds of a POST's validation: this validates
    without them, then makes the checks of a valid body from each class's
    field annotations, read once."""
    if context not in _CREATE_OR_REPLACE:
        return None
    try:
        resource: BaseModel = model.model_validate(
            body, scim_ctx=Context.DEFAULT, scim_policy=_TOLERANT
        )
    except ValidationError:
        return None
    return resource if _holds_in(resource) else None


def _holds_in(resource: BaseModel) -> bool:
    """Whether `resource` and every model in it pass the checks scim2-models'
    request context makes of a creation or a replacement (its
    `_enforce_scim_context`): no required attribute missing, null or empty,
    no two primary values. (It also clears the readOnly attributes a body
    set; the dump in the same context leaves them out anyway.)"""
    values = resource.__dict__
    for value in values.values():
        nested = value if isinstance(value, list) else (value,)
        if not all(_holds_in(v) for v in nested if isinstance(v, BaseModel)):
            return False
    rules = _rules(type(resource))
    for name in rules.required:
        value = values[name]
        if value is None or (value == [] and name != "schemas"):
            return False
    for name in rules.with_primary:
        entries = values[name]
        if entries and sum(1 for e in entries if getattr(e, "primary", None) is True) > 1:
            return False
    return True


@dataclass(frozen=True)
class _Rules:
    required: tuple[str, ...]
    with_primary: tuple[str, ...]  # multi-valued, of entries that have `primary`


@functools.cache
def _rules(cls: type[BaseModel]) -> _Rules:
    fields = cls.model_fields
    root = cls.get_field_root_type
    return _Rules(
        required=tuple(f for f in fields if cls.get_field_annotation(f, Required) == Required.true),
        with_primary=tuple(
            f
            for f in fields
            if cls.get_field_multiplicity(f)
            and isclass(element := root(f))
            and issubclass(element, PydanticBaseModel)
            and "primary" in element.model_fields
        ),
    )


def user(body: dict[str, Any], *, replace: bool = False, active: bool = True) -> dict[str, Any]:
    """A User body of POST (or PUT with `replace`), validated and canonical;
    `active` is the status a body that does not say keeps."""
    context = Context.RESOURCE_REPLACEMENT_REQUEST if replace else Context.RESOURCE_CREATION_REQUEST
    strict = dialects.resource(body, UserModel, defaults={"active": active})
    return _validated(UserModel, strict, context)


def group(body: dict[str, Any], *, replace: bool = False) -> dict[str, Any]:
    """A Group body of POST (or PUT with `replace`), validated and canonical."""
    context = Context.RESOURCE_REPLACEMENT_REQUEST if replace else Context.RESOURCE_CREATION_REQUEST
    return _validated(Group, dialects.resource(body, Group), context)
