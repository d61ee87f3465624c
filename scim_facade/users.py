"""SCIM operations on Users, each a short sequence of identity.v1 calls.

PUT and PATCH read the user, build the wanted one, and write only what
differs, conditionally on the etag they read: nothing (no new version) when
nothing differs, DeactivateUser/ReactivateUser when only `active` does, one
UpdateUser naming the changed fields otherwise. Fields the SCIM schema does
not carry (`extensions`, written by internal services) are never touched.

Two writes do not depend on the current user, and so are one call, without
the read, when the client sends no If-Match (Okta and Entra send none): a
PUT (one UpdateUser naming every SCIM field; the status only when the body
gives one, so that leaving `state` out of the mask keeps it), and a PATCH
that only sets `active` (DeactivateUser/ReactivateUser). identity_service
saves no new version when such a write changes nothing, so the answer is
the one the read-compare-write gives. A body that does not validate still
takes the read first: a missing user is 404 before any 400."""

from collections.abc import Callable
from typing import Any, TypeVar

from google.protobuf.field_mask_pb2 import FieldMask
from identity.v1 import user_pb2, user_service_pb2

from scim_facade import dialects, listing, parsing, patch
from scim_facade.call import Call
from scim_facade.errors import ScimError
from scim_facade.mapping import users as mapping
from scim_facade.preconditions import if_match_allows, tags

_ATTEMPTS = 3
# The identity.v1 User fields a SCIM User carries, but for `state` (active).
_SCIM_FIELDS = (
    "user_name",
    "external_id",
    "name_parts",
    "display_name",
    "nick_name",
    "profile_url",
    "title",
    "user_type",
    "preferred_language",
    "locale",
    "timezone",
    "emails",
    "phone_numbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509_certificates",
    "enterprise",
)
_UNSET = user_pb2.User.STATE_UNSPECIFIED

Wanted = Callable[[user_pb2.User], user_pb2.User]
T = TypeVar("T")


def name(user_id: str) -> str:
    return f"tenants/-/users/{user_id}"


async def get(call: Call, user_id: str) -> user_pb2.User:
    request = user_service_pb2.GetUserRequest(name=name(user_id))
    return await call.rpc(call.client.users.GetUser, request)


async def create(call: Call, resource: dict[str, Any]) -> user_pb2.User:
    request = user_service_pb2.CreateUserRequest(
        parent="tenants/-", user=mapping.to_proto(resource)
    )
    return await call.rpc(call.client.users.CreateUser, request)


def _changed_fields(current: user_pb2.User, wanted: user_pb2.User) -> list[str]:
    return [f for f in _SCIM_FIELDS if getattr(current, f) != getattr(wanted, f)]


async def _set_active(call: Call, user_id: str, active: bool, etag: str) -> user_pb2.User:
    """Deactivation and reactivation are their own methods in identity.v1."""
    if active:
        request = user_service_pb2.ReactivateUserRequest(name=name(user_id), etag=etag)
        return await call.rpc(call.client.users.ReactivateUser, request)
    deactivate = user_service_pb2.DeactivateUserRequest(name=name(user_id), etag=etag)
    return await call.rpc(call.client.users.DeactivateUser, deactivate)


async def _write(
    call: Call, user_id: str, current: user_pb2.User, wanted: user_pb2.User
) -> user_pb2.User:
    """Write what differs between the current and the wanted user."""
    fields = _changed_fields(current, wanted)
    state_changes = wanted.state not in (_UNSET, current.state)
    if not fields and not state_changes:
        return current
    if not fields:
        return await _set_active(call, user_id, wanted.state == user_pb2.User.ACTIVE, current.etag)
    wanted.name, wanted.etag = name(user_id), current.etag
    mask = FieldMask(paths=[*fields, *(["state"] if state_changes else [])])
    request = user_service_pb2.UpdateUserRequest(user=wanted, update_mask=mask)
    return await call.rpc(call.client.users.UpdateUser, request)


async def _conditionally(call: Call, user_id: str, if_match: str, want: Wanted) -> user_pb2.User:
    """Read, build the wanted user, write it conditionally on the etag read,
    so the change applies all or none. A race with another writer is retried,
    unless the client sent If-Match (then it gets its 412)."""
    for attempt in range(_ATTEMPTS):
        current = await get(call, user_id)
        if not if_match_allows(if_match, current.etag):
            raise ScimError(412, f"the user's version is {current.etag}, not {if_match}")
        try:
            return await _write(call, user_id, current, want(current))
        except ScimError as error:
            if error.status != 412 or if_match or attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _valid(build: Callable[[], T]) -> T | None:
    """What `build` makes of a body, or None when the body does not validate:
    its 400 is then raised after the read, as every PUT's and PATCH's is."""
    try:
        return build()
    except ScimError:
        return None


def _replacement(body: dict[str, Any]) -> user_pb2.User:
    """A PUT body as the user it makes, without a status when it gives none."""
    wanted = mapping.to_proto(parsing.user(body, replace=True))
    if not dialects.gives(body, "active"):
        wanted.state = _UNSET
    return wanted


async def _overwrite(call: Call, user_id: str, wanted: user_pb2.User) -> user_pb2.User:
    """One UpdateUser naming every SCIM field, and the status when `wanted`
    has one."""
    fields = [*_SCIM_FIELDS, *(["state"] if wanted.state != _UNSET else [])]
    wanted.name = name(user_id)
    request = user_service_pb2.UpdateUserRequest(user=wanted, update_mask=FieldMask(paths=fields))
    return await call.rpc(call.client.users.UpdateUser, request)


async def replace(call: Call, user_id: str, body: dict[str, Any], if_match: str) -> user_pb2.User:
    """PUT: a full replacement (RFC 7644 §3.5.1) of the user's SCIM
    attributes; `active` absent keeps the status."""
    wanted = None if if_match else _valid(lambda: _replacement(body))
    if wanted is not None:
        return await _overwrite(call, user_id, wanted)

    def want(current: user_pb2.User) -> user_pb2.User:
        active = current.state == user_pb2.User.ACTIVE
        return mapping.to_proto(parsing.user(body, replace=True, active=active))

    return await _conditionally(call, user_id, if_match, want)


def _patched(call: Call, body: dict[str, Any], operations: patch.UserPatch | None) -> Wanted:
    def want(current: user_pb2.User) -> user_pb2.User:
        # A body that did not parse raises here, once the user is read: a
        # missing user is 404 and a stale If-Match 412 before any 400.
        parsed = operations or patch.parse_user(body)
        after = patch.apply_to_user(mapping.to_scim(current, call.base_url), parsed)
        return mapping.to_proto(after)

    return want


async def modify(call: Call, user_id: str, body: dict[str, Any], if_match: str) -> user_pb2.User:
    """PATCH (RFC 7644 §3.5.2): the operations applied to the current user
    and written back all or none; active=false deactivates, without a read
    when that is all the PATCH does."""
    operations = _valid(lambda: patch.parse_user(body))
    active = patch.active_only(operations) if operations and not if_match else None
    if active is not None:
        return await _set_active(call, user_id, active, etag="")
    return await _conditionally(call, user_id, if_match, _patched(call, body, operations))


async def delete(call: Call, user_id: str, if_match: str) -> None:
    """DELETE, conditionally on one etag (identity.v1 checks it) or on a
    list (checked here against the current one, which is then the condition)."""
    etag = "" if if_match == "*" else if_match
    if len(tags(if_match)) > 1:
        current = await get(call, user_id)
        if not if_match_allows(if_match, current.etag):
            raise ScimError(412, f"the user's version is {current.etag}, not {if_match}")
        etag = current.etag
    request = user_service_pb2.DeleteUserRequest(name=name(user_id), etag=etag)
    await call.rpc(call.client.users.DeleteUser, request)


async def list_page(
    call: Call, expression: str, order_by: str, size: int, skip: int, token: str
) -> user_service_pb2.ListUsersResponse:
    request = user_service_pb2.ListUsersRequest(
        **listing.list_request(expression, order_by, size, skip, token)
    )
    return await call.rpc(call.client.users.ListUsers, request)
