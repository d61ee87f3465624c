"""Rules every stored user and group satisfies, checked before each write.
Violations are INVALID_ARGUMENT with one field violation each, named by the
field's proto path within the resource (name_parts.given_name, emails[0].value);
the servicer prefixes the request field that holds the resource."""

import functools
import re
from typing import Any

from identity_service.domain.errors import FieldViolation, InvalidField

MAX_NAME_LENGTH = 256
MAX_STRING_LENGTH = 2048
MAX_VALUES_PER_ATTRIBUTE = 100
MAX_EXTENSIONS = 20
MULTI_VALUED = (
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
)


# General category Cc (C0 controls, DEL, C1 controls), a set Unicode's
# stability policy keeps fixed: one regex search is much cheaper than a
# category lookup per character.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same without tab and newline, which attribute values may contain.
_CONTROL_BUT_TAB_OR_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_UPPER_AFTER_FIRST = re.compile(r"(?<!^)([A-Z])")


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def _check_name(field: str, value: str | None, required: bool) -> list[FieldViolation]:
    if value is None or value == "":
        return [FieldViolation(field, "is required")] if required else []
    if value != value.strip():
        return [FieldViolation(field, "must not start or end with white space")]
    if len(value) > MAX_NAME_LENGTH:
        return [FieldViolation(field, f"at most {MAX_NAME_LENGTH} characters")]
    if has_control_characters(value):
        return [FieldViolation(field, "must not contain control characters")]
    return []


@functools.lru_cache(maxsize=1024)  # every write asks again for the same few names
def _snake(name: str) -> str:
    """A JSON field name in proto form: nameParts -> name_parts."""
    return _UPPER_AFTER_FIRST.sub(r"_\1", name).lower()


def _key(field: str, key: str) -> str:
    """The path of `key` inside `field`: proto names for fields, map syntax
    inside extensions, whose keys are the client's."""
    if field.startswith("extensions"):
        return f'{field}["{key}"]'
    return f"{field}.{_snake(key)}" if field else _snake(key)


def _check_keys(field: str, value: dict[str, Any]) -> list[FieldViolation]:
    """Keys are printable too (extension URNs, attribute names): PostgreSQL's
    JSONB cannot hold NUL."""
    return [
        FieldViolation(_key(field, k), "names must not contain control characters")
        for k in value
        if has_control_characters(k)
    ]


def _check_strings(field: str, value: Any) -> list[FieldViolation]:
    """Every string anywhere in an attribute value is bounded and printable,
    and so is every name in it (extension keys are the client's)."""
    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH:
            return [FieldViolation(field, f"at most {MAX_STRING_LENGTH} characters")]
        if _CONTROL_BUT_TAB_OR_NEWLINE.search(value):
            return [FieldViolation(field, "must not contain control characters")]
        return []
    if isinstance(value, dict):
        return [
            *_check_keys(field, value),
            *(v for k, item in value.items() for v in _check_strings(_key(field, k), item)),
        ]
    if isinstance(value, list):
        return [v for i, item in enumerate(value) for v in _check_strings(f"{field}[{i}]", item)]
    return []


def _check_multi_valued(attributes: dict[str, Any]) -> list[FieldViolation]:
    violations = []
    for name in MULTI_VALUED:
        values, field = attributes.get(name, []), _snake(name)
        if len(values) > MAX_VALUES_PER_ATTRIBUTE:
            violations.append(FieldViolation(field, f"at most {MAX_VALUES_PER_ATTRIBUTE} values"))
        if sum(1 for v in values if v.get("primary")) > 1:
            # RFC 7643 §2.4: the primary attribute value "true" MUST appear no more than once.
            violations.append(FieldViolation(field, "at most one value may be primary"))
        if name == "emails" and any(not v.get("value") for v in values):
            violations.append(FieldViolation(field, "every email needs a value"))
    return violations


def _check_extensions(attributes: dict[str, Any]) -> list[FieldViolation]:
    extensions = attributes.get("extensions", {})
    if len(extensions) > MAX_EXTENSIONS:
        return [FieldViolation("extensions", f"at most {MAX_EXTENSIONS} extension schemas")]
    return [
        FieldViolation(f'extensions["{urn}"]', "keys are schema URNs (urn:...)")
        for urn in extensions
        if not urn.lower().startswith("urn:")
    ]


def check_user(
    user_name: str, external_id: str | None, display_name: str | None, attributes: dict[str, Any]
) -> None:
    violations = [
        *_check_name("user_name", user_name, required=True),
        *_check_name("external_id", external_id, required=False),
        *_check_name("display_name", display_name, required=False),
        *_check_strings("", attributes),
        *_check_multi_valued(attributes),
        *_check_extensions(attributes),
    ]
    _raise(violations)


def check_group(display_name: str, external_id: str | None) -> None:
    _raise(
        [
            *_check_name("display_name", display_name, required=True),
            *_check_name("external_id", external_id, required=False),
        ]
    )


def _raise(violations: list[FieldViolation]) -> None:
    if violations:
        message = "; ".join(f"{v.field}: {v.description}" for v in violations)
        raise InvalidField(message, violations=violations)
