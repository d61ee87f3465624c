"""SCIM operations on Users, each a short sequence of identity.v1 calls."""

from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from identity.v1 import user_pb2, user_service_pb2

from scim_facade import patch
from scim_facade.call import Call
from scim_facade.errors import ScimError
from scim_facade.mapping import users as mapping

_PATCH_ATTEMPTS = 3


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


async def _update(call: Call, user_id: str, resource: dict[str, Any], etag: str) -> user_pb2.User:
    """Replace every writable field (PUT semantics), conditionally on `etag`."""
    message = mapping.to_proto(resource)
    message.name, message.etag = name(user_id), etag
    request = user_service_pb2.UpdateUserRequest(user=message, update_mask=FieldMask(paths=["*"]))
    return await call.rpc(call.client.users.UpdateUser, request)


async def replace(
    call: Call, user_id: str, resource: dict[str, Any], if_match: str
) -> user_pb2.User:
    """PUT: a full replacement (RFC 7644 §3.5.1); `active` absent keeps the state."""
    return await _update(call, user_id, resource, if_match)


async def _set_active(call: Call, user_id: str, active: bool, etag: str) -> user_pb2.User:
    """Deactivation and reactivation are their own methods in identity.v1."""
    if active:
        request = user_service_pb2.ReactivateUserRequest(name=name(user_id), etag=etag)
        return await call.rpc(call.client.users.ReactivateUser, request)
    deactivate = user_service_pb2.DeactivateUserRequest(name=name(user_id), etag=etag)
    return await call.rpc(call.client.users.DeactivateUser, deactivate)


async def modify(
    call: Call, user_id: str, operations: dict[str, Any], if_match: str
) -> user_pb2.User:
    """PATCH (RFC 7644 §3.5.2): applied to the current user and written back
    conditionally on its etag, so the operations apply all or none. A race
    with another writer is retried, unless the client sent If-Match."""
    for attempt in range(_PATCH_ATTEMPTS):
        current = await get(call, user_id)
        if if_match and if_match not in ("*", current.etag):
            raise ScimError(412, f"the user's version is {current.etag}, not {if_match}")
        before = mapping.to_scim(current, call.base_url)
        after = patch.apply_to_user(before, operations)
        try:
            return await _write_patched(call, user_id, before, after, current.etag)
        except ScimError as error:
            if error.status != 412 or if_match or attempt == _PATCH_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _write_patched(
    call: Call, user_id: str, before: dict[str, Any], after: dict[str, Any], etag: str
) -> user_pb2.User:
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    changed -= {"meta"}
    if not changed:
        return await get(call, user_id)
    if changed == {"active"}:
        return await _set_active(call, user_id, bool(after.get("active")), etag)
    return await _update(call, user_id, after, etag)


async def delete(call: Call, user_id: str, if_match: str) -> None:
    request = user_service_pb2.DeleteUserRequest(name=name(user_id), etag=if_match)
    await call.rpc(call.client.users.DeleteUser, request)


async def list_page(
    call: Call, expression: str, order_by: str, size: int, skip: int, token: str
) -> user_service_pb2.ListUsersResponse:
    request = user_service_pb2.ListUsersRequest(
        parent="tenants/-",
        filter=expression,
        order_by=order_by,
        # count=0 asks only for totalResults: read one row for the total.
        page_size=max(size, 1),
        skip=skip,
        page_token=token,
    )
    return await call.rpc(call.client.users.ListUsers, request)
