"""Control characters where identity.v1 takes names and keys: refused with
INVALID_ARGUMENT naming the field, never an internal error (PostgreSQL text
and JSONB cannot hold NUL)."""

from typing import Any

import grpc
import pytest
from identity.v1 import user_service_pb2

from tests.helpers import TenantAccess
from tests.users.support import Code, Stub, User, fails

ACME = "urn:acme:2.0:User"


@pytest.mark.parametrize(
    ("extensions", "field"),
    [
        ({ACME: {"badge\x00": "x"}}, f'user.extensions["{ACME}"]["badge\x00"]'),
        ({ACME: {"level": {"a\x01": 1}}}, f'user.extensions["{ACME}"]["level"]["a\x01"]'),
        ({"urn:acme\x00": {"a": 1}}, 'user.extensions["urn:acme\x00"]'),
    ],
    ids=["attribute-name", "nested-key", "schema-urn"],
)
def test_an_extension_key_with_a_control_character_is_invalid(
    users: Stub, tenant: TenantAccess, extensions: dict[str, dict[str, Any]], field: str
) -> None:
    """Every key of the extensions is printable, as every string value is."""
    user = User(user_name="alice")
    for urn, document in extensions.items():
        user.extensions[urn].update(document)
    request = user_service_pb2.CreateUserRequest(parent=tenant.parent, user=user)

    error = fails(lambda: users.CreateUser(request, metadata=tenant.metadata))

    assert error.code() == Code.INVALID_ARGUMENT, error.details()
    assert field in (error.details() or "")


@pytest.mark.parametrize("user_id", ["\x00", "a\x00b", "\x7f"])
def test_a_user_name_with_a_control_character_is_invalid(
    users: Stub, tenant: TenantAccess, user_id: str
) -> None:
    """A resource name whose id holds a control character is malformed (AIP-122)."""
    request = user_service_pb2.GetUserRequest(name=f"{tenant.parent}/users/{user_id}")

    error = fails(lambda: users.GetUser(request, metadata=tenant.metadata))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
