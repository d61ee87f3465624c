"""identity.v1 messages <-> domain types: the one module that imports both."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from google.api import field_behavior_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor, json_format, timestamp_pb2
from google.protobuf.field_mask_pb2 import FieldMask
from identity.v1 import (
    credential_pb2,
    group_pb2,
    group_service_pb2,
    tenant_pb2,
    user_pb2,
)

from identity_service.domain.errors import InvalidField, InvalidUpdateMask
from identity_service.domain.models import (
    Credential,
    Group,
    ListQuery,
    Member,
    MemberRef,
    Membership,
    MemberType,
    NewUser,
    Tenant,
    User,
    UserState,
)
from identity_service.servicers import names

_USER = user_pb2.User.DESCRIPTOR
# Fields held in columns, by JSON name; everything else writable is an attribute.
_CORE_JSON = {"userName", "externalId", "displayName", "state"}
_NOT_WRITABLE = {field_behavior_pb2.OUTPUT_ONLY, field_behavior_pb2.IDENTIFIER}


def _writable(field: descriptor.FieldDescriptor) -> bool:
    behaviors = set(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])
    return not behaviors & _NOT_WRITABLE and field.name != "etag"


WRITABLE_USER_FIELDS = [f for f in _USER.fields if _writable(f)]


@contextmanager
def fields_of(prefix: str) -> Iterator[None]:
    """Report the use case's field violations relative to the request field
    `prefix` that holds the resource ("user", "group")."""
    try:
        yield
    except InvalidField as error:
        raise error.within(prefix) from error


class _ListRequest(Protocol):
    """ListUsersRequest and ListGroupsRequest."""

    filter: str
    order_by: str
    page_size: int
    page_token: str
    skip: int
    show_deleted: bool


def list_query(request: _ListRequest) -> ListQuery:
    return ListQuery(
        filter=request.filter,
        order_by=request.order_by,
        page_size=request.page_size,
        page_token=request.page_token,
        skip=request.skip,
        show_deleted=request.show_deleted,
    )


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(value)
    return result


def _active(state: int, field: str) -> bool:
    if state in (user_pb2.User.STATE_UNSPECIFIED, user_pb2.User.ACTIVE):
        return True
    if state == user_pb2.User.DEACTIVATED:
        return False
    raise InvalidField.of(field, "may be ACTIVE or DEACTIVATED; use DeleteUser to delete")


def new_user(message: user_pb2.User) -> NewUser:
    document = json_format.MessageToDict(message)
    attributes = {
        f.json_name: document[f.json_name]
        for f in WRITABLE_USER_FIELDS
        if f.json_name in document and f.json_name not in _CORE_JSON
    }
    return NewUser(
        user_name=message.user_name,
        external_id=message.external_id or None,
        display_name=message.display_name or None,
        active=_active(message.state, "user.state"),
        attributes=attributes,
    )


def _mask_path(path: str) -> tuple[str, list[descriptor.FieldDescriptor]]:
    """The JSON path of a mask path, and the fields along it."""
    fields: list[descriptor.FieldDescriptor] = []
    message_type: descriptor.Descriptor | None = _USER
    for part in path.split("."):
        field = message_type.fields_by_name.get(part) if message_type else None
        if field is None or (not fields and not _writable(field)):
            raise InvalidUpdateMask(f"update_mask: {path!r} is not a writable User field")
        fields.append(field)
        # Only a singular message field has sub-fields a mask can name.
        singular_message = field.message_type is not None and not field.is_repeated
        message_type = field.message_type if singular_message else None
    return ".".join(f.json_name for f in fields), fields


def user_changes(message: user_pb2.User, mask: FieldMask) -> dict[str, Any]:
    """The service's change set for UpdateUser: core fields by domain name,
    other fields by JSON path; an absent value clears the field."""
    paths = list(mask.paths)
    if not paths:
        raise InvalidUpdateMask('update_mask is required; use "*" to replace every field')
    if "*" in paths:
        # A full replacement changes the state only when the message names one:
        # STATE_UNSPECIFIED is never stored, and reading it as ACTIVE would
        # silently reactivate a deactivated user on any "*" update.
        paths = [
            f.name
            for f in WRITABLE_USER_FIELDS
            if f.name != "state" or message.state != user_pb2.User.STATE_UNSPECIFIED
        ]
    document = json_format.MessageToDict(message)
    changes: dict[str, Any] = {}
    for path in paths:
        json_path, _ = _mask_path(path)
        value: Any = document
        for part in json_path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if json_path == "state":
            changes["active"] = _active(message.state, "user.state")
        elif json_path in _CORE_JSON:
            changes[path] = value or None
        else:
            changes[json_path] = value
    return changes


_STATES = {
    UserState.ACTIVE: user_pb2.User.ACTIVE,
    UserState.DEACTIVATED: user_pb2.User.DEACTIVATED,
    UserState.DELETED: user_pb2.User.DELETED,
}


class _Unusual(Exception):
    """A stored document the fast path leaves to json_format."""


@functools.cache
def _by_json_name(message_type: descriptor.Descriptor) -> dict[str, descriptor.FieldDescriptor]:
    return {field.json_name: field for field in message_type.fields}


def _arguments(document: dict[str, Any], message_type: descriptor.Descriptor) -> dict[str, Any]:
    """A stored JSON document as constructor arguments: proto field names,
    nested messages as dicts of the same. json_format.ParseDict does this
    for any message, at several times the cost."""
    arguments: dict[str, Any] = {}
    for key, value in document.items():
        field = _by_json_name(message_type).get(key)
        if field is None:
            raise _Unusual(key)
        nested = field.message_type
        if nested is None:
            arguments[field.name] = value
        elif nested.GetOptions().map_entry or nested.full_name.startswith("google.protobuf."):
            raise _Unusual(key)  # extensions (Structs): rare, and json_format's to convert
        elif field.is_repeated:
            arguments[field.name] = [_arguments(item, nested) for item in value]
        else:
            arguments[field.name] = _arguments(value, nested)
    return arguments


def _attributes(document: dict[str, Any]) -> user_pb2.User:
    """A user message holding the stored attributes."""
    try:
        return user_pb2.User(**_arguments(document, _USER))
    except (_Unusual, TypeError, ValueError, AttributeError):
        return json_format.ParseDict(document, user_pb2.User())


def user(value: User) -> user_pb2.User:
    message = _attributes(value.attributes)
    message.name = names.user_name(value.tenant_slug, value.id)
    message.id = value.id
    message.user_name = value.user_name
    message.external_id = value.external_id or ""
    message.display_name = value.display_name or ""
    message.state = _STATES[value.state]
    message.etag = value.etag
    for field, time in (
        ("create_time", value.create_time),
        ("update_time", value.update_time),
        ("deactivate_time", value.deactivate_time),
        ("delete_time", value.delete_time),
    ):
        if time is not None:
            getattr(message, field).FromDatetime(time)
    return message


def group(value: Group) -> group_pb2.Group:
    return group_pb2.Group(
        name=names.group_name(value.tenant_slug, value.id),
        id=value.id,
        display_name=value.display_name,
        external_id=value.external_id or "",
        member_count=value.member_count,
        create_time=timestamp(value.create_time),
        update_time=timestamp(value.update_time),
        delete_time=timestamp(value.delete_time),
        etag=value.etag,
    )


_MEMBER_TYPES = {MemberType.USER: group_pb2.Member.USER, MemberType.GROUP: group_pb2.Member.GROUP}


def member(slug: str, value: Member) -> group_pb2.Member:
    return group_pb2.Member(
        member=names.member_name(slug, MemberRef(value.type, value.id)),
        type=_MEMBER_TYPES[value.type],
        id=value.id,
        display=value.display,
    )


def membership(slug: str, value: Membership) -> group_service_pb2.Membership:
    return group_service_pb2.Membership(
        group=names.group_name(slug, value.group_id),
        group_id=value.group_id,
        display_name=value.display_name,
        direct=value.direct,
    )


def tenant(value: Tenant) -> tenant_pb2.Tenant:
    return tenant_pb2.Tenant(
        name=f"tenants/{value.slug}",
        slug=value.slug,
        display_name=value.display_name,
        state=tenant_pb2.Tenant.State.Value(value.state.value),
        create_time=timestamp(value.create_time),
        update_time=timestamp(value.update_time),
    )


def credential(value: Credential) -> credential_pb2.Credential:
    prefix = f"tenants/{value.tenant_slug}/" if value.tenant_slug else ""
    return credential_pb2.Credential(
        name=f"{prefix}credentials/{value.id}",
        display_name=value.display_name,
        scopes=sorted(s.value for s in value.scopes),
        expire_time=timestamp(value.expire_time),
        create_time=timestamp(value.create_time),
        last_use_time=timestamp(value.last_use_time),
        revoke_time=timestamp(value.revoke_time),
        secret_prefix=value.secret_prefix,
    )
