"""A tenant's data as identity_service holds it, read over gRPC: every user
and group (deleted ones too) and the whole change log, serialised, so a
test can show that a refused request changed nothing, byte for byte."""

import grpc
from identity.v1 import (
    change_service_pb2,
    change_service_pb2_grpc,
    group_service_pb2,
    group_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from tests.helpers import TenantAccess


def tenant_state(channel: grpc.Channel, tenant: TenantAccess) -> tuple[bytes, ...]:
    """The tenant's users, groups and change records (the first 1,000 of each)."""
    auth = tenant.metadata
    users = user_service_pb2_grpc.UserServiceStub(channel).ListUsers(
        user_service_pb2.ListUsersRequest(parent=tenant.parent, page_size=1000, show_deleted=True),
        metadata=auth,
    )
    groups = group_service_pb2_grpc.GroupServiceStub(channel).ListGroups(
        group_service_pb2.ListGroupsRequest(
            parent=tenant.parent, page_size=1000, show_deleted=True
        ),
        metadata=auth,
    )
    changes = change_service_pb2_grpc.ChangeServiceStub(channel).ListChanges(
        change_service_pb2.ListChangesRequest(parent=tenant.parent, page_size=1000),
        metadata=auth,
    )
    return tuple(
        message.SerializeToString(deterministic=True)
        for message in (*users.users, *groups.groups, *changes.changes)
    )
