"""Fixtures of the GroupService tests: a tenant's Directory, and another's."""

import pytest
from identity.v1 import group_service_pb2_grpc, user_service_pb2_grpc

from tests.groups.support import Directory
from tests.helpers import TenantAccess


@pytest.fixture
def directory(
    users: user_service_pb2_grpc.UserServiceStub,
    groups: group_service_pb2_grpc.GroupServiceStub,
    tenant: TenantAccess,
) -> Directory:
    return Directory(users, groups, tenant)


@pytest.fixture
def elsewhere(
    users: user_service_pb2_grpc.UserServiceStub,
    groups: group_service_pb2_grpc.GroupServiceStub,
    other_tenant: TenantAccess,
) -> Directory:
    """Another tenant's directory."""
    return Directory(users, groups, other_tenant)
