"""identity.v1's own request limits, at the edge (accepted) and one past it:
the filter compiler's length, comparisons and nesting (INVALID_ARGUMENT with
ErrorInfo INVALID_FILTER and a BadRequest on `filter`), and the largest
request message the server reads (RESOURCE_EXHAUSTED from gRPC itself)."""

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from identity.v1 import (
    group_service_pb2,
    group_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service.service.validation import MAX_STRING_LENGTH
from identity_service.store.engine import Database
from tests.conftest import ServerThread
from tests.filter_edges import KINDS, filter_at_edge
from tests.helpers import TenantAccess, error_info, field_violations

MESSAGE_LIMIT = 64 << 10


def _list(channel: grpc.Channel, tenant: TenantAccess, resource: str, expression: str) -> Any:
    """ListUsers or ListGroups of the tenant with `expression` as the filter."""
    if resource == "users":
        users = user_service_pb2_grpc.UserServiceStub(channel)
        request: Any = user_service_pb2.ListUsersRequest(parent=tenant.parent, filter=expression)
        return users.ListUsers(request, metadata=tenant.metadata)
    groups = group_service_pb2_grpc.GroupServiceStub(channel)
    request = group_service_pb2.ListGroupsRequest(parent=tenant.parent, filter=expression)
    return groups.ListGroups(request, metadata=tenant.metadata)


@pytest.mark.parametrize("resource", ["users", "groups"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_filter_at_each_limit_is_answered(
    channel: grpc.Channel, tenant: TenantAccess, resource: str, kind: str
) -> None:
    """A filter of MAX_FILTER_LENGTH characters, MAX_FILTER_TERMS comparisons or 32 nested
    expressions is compiled and run (AIP-160)."""
    assert _list(channel, tenant, resource, filter_at_edge(kind, past=False)).total_size == 0


@pytest.mark.parametrize("resource", ["users", "groups"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_filter_past_a_limit_is_invalid_argument_invalid_filter(
    channel: grpc.Channel, tenant: TenantAccess, resource: str, kind: str
) -> None:
    """One character, comparison or level more: INVALID_ARGUMENT, INVALID_FILTER (AIP-193)."""
    with pytest.raises(grpc.RpcError) as raised:
        _list(channel, tenant, resource, filter_at_edge(kind, past=True))
    error: Any = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error).reason == "INVALID_FILTER"
    if kind != "nesting":
        assert set(field_violations(error)) == {"filter"}


@pytest.fixture(scope="module")
def small_messages(db: Database, database_url: str) -> Iterator[grpc.Channel]:
    """A channel to a server that reads request messages of MESSAGE_LIMIT bytes at most."""
    server = ServerThread(db, database_url, max_receive_message_bytes=MESSAGE_LIMIT)
    with grpc.insecure_channel(f"127.0.0.1:{server.running.port}") as channel:
        yield channel
    server.stop()


def _create_request(tenant: TenantAccess, user_name: str, size: int) -> Any:
    """A valid CreateUserRequest of exactly `size` serialised bytes, its
    bulk in emails of at most MAX_STRING_LENGTH characters."""
    emails = [user_pb2.MultiValuedAttribute(value="e" * 1000) for _ in range(size // 1000)]
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=user_pb2.User(user_name=user_name, emails=emails)
    )
    missing = size - request.ByteSize()
    for email in request.user.emails:
        grow = min(missing, MAX_STRING_LENGTH - len(email.value))
        email.value += "e" * grow
        missing -= grow
    assert request.ByteSize() == size
    return request


@pytest.mark.parametrize("past", [False, True], ids=["at", "past"])
def test_a_request_message_past_the_limit_is_resource_exhausted_and_creates_nothing(
    small_messages: grpc.Channel, tenant: TenantAccess, past: bool
) -> None:
    """max_receive_message_bytes are read; one more is RESOURCE_EXHAUSTED before any handler."""
    users = user_service_pb2_grpc.UserServiceStub(small_messages)
    request = _create_request(tenant, "big", MESSAGE_LIMIT + past)
    if past:
        with pytest.raises(grpc.RpcError) as raised:
            users.CreateUser(request, metadata=tenant.metadata)
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    else:
        assert users.CreateUser(request, metadata=tenant.metadata).user_name == "big"
    listed = users.ListUsers(
        user_service_pb2.ListUsersRequest(parent=tenant.parent), metadata=tenant.metadata
    )
    assert [u.user_name for u in listed.users] == ([] if past else ["big"])


def _extension(key: str) -> Any:
    extension = struct_pb2.Struct()
    extension.update({key: "x"})
    return extension


def _create(tenant: TenantAccess, user: user_pb2.User, request_id: str = "") -> Any:
    return user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=user, request_id=request_id
    )


# Case -> (method, the request for a tenant, the ErrorInfo reason).
NUL_REQUESTS: dict[str, tuple[str, Callable[[TenantAccess], Any], str]] = {
    "request_id": (
        "CreateUser",
        lambda t: _create(t, user_pb2.User(user_name="a"), request_id="r\x00"),
        "INVALID_FIELD",
    ),
    "an extension's name": (
        "CreateUser",
        lambda t: _create(
            t, user_pb2.User(user_name="b", extensions={"urn:a\x00": _extension("k")})
        ),
        "INVALID_FIELD",
    ),
    "a name inside an extension": (
        "CreateUser",
        lambda t: _create(
            t, user_pb2.User(user_name="c", extensions={"urn:a": _extension("k\x00")})
        ),
        "INVALID_FIELD",
    ),
    "a filter value (escaped)": (
        "ListUsers",
        lambda t: user_service_pb2.ListUsersRequest(
            parent=t.parent, filter='userName eq "\\u0000"'
        ),
        "INVALID_FILTER",
    ),
    "a value filter's value": (
        "ListUsers",
        lambda t: user_service_pb2.ListUsersRequest(
            parent=t.parent, filter='emails[value eq "a\\u0000"]'
        ),
        "INVALID_FILTER",
    ),
    "a user's id": (
        "GetUser",
        lambda t: user_service_pb2.GetUserRequest(name=f"{t.parent}/users/\x00"),
        "INVALID_FIELD",
    ),
    "an id in a batch": (
        "BatchGetUsers",
        lambda t: user_service_pb2.BatchGetUsersRequest(
            parent=t.parent, names=[f"{t.parent}/users/a\x00"]
        ),
        "INVALID_FIELD",
    ),
}


@pytest.mark.parametrize(
    ("method", "request_of", "reason"), NUL_REQUESTS.values(), ids=NUL_REQUESTS.keys()
)
def test_a_nul_anywhere_in_a_request_is_invalid_argument_not_internal(
    channel: grpc.Channel,
    tenant: TenantAccess,
    method: str,
    request_of: Callable[[TenantAccess], Any],
    reason: str,
) -> None:
    """PostgreSQL's text cannot hold NUL: INVALID_ARGUMENT before it reaches SQL (AIP-193)."""
    users = user_service_pb2_grpc.UserServiceStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        getattr(users, method)(request_of(tenant), metadata=tenant.metadata)
    error: Any = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert error_info(error).reason == reason
