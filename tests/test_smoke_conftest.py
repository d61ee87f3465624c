"""Checks the shared fixtures themselves."""

from identity.v1 import user_pb2, user_service_pb2

from tests.helpers import TenantAccess


def test_a_fresh_tenant_can_create_and_read_a_user(users, tenant: TenantAccess) -> None:
    """The session server serves a tenant's credential."""
    created = users.CreateUser(
        user_service_pb2.CreateUserRequest(
            parent=tenant.parent, user=user_pb2.User(user_name="bjensen")
        ),
        metadata=tenant.metadata,
    )
    got = users.GetUser(
        user_service_pb2.GetUserRequest(name=created.name), metadata=tenant.metadata
    )
    assert got.user_name == "bjensen"
