"""gRPC adapters: proto <-> domain, and the one interceptor that maps errors."""

from typing import Any

import grpc
from identity.v1 import (
    change_service_pb2,
    change_service_pb2_grpc,
    credential_service_pb2,
    credential_service_pb2_grpc,
    group_service_pb2,
    group_service_pb2_grpc,
    tenant_service_pb2,
    tenant_service_pb2_grpc,
    token_service_pb2,
    token_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service.service.access import Access
from identity_service.service.changes import Changes
from identity_service.service.groups import Groups
from identity_service.service.tenants import Credentials, Tenants
from identity_service.service.tokens import Tokens
from identity_service.service.users import Users
from identity_service.service.watch import Watch
from identity_service.servicers.admin import CredentialServicer, TenantServicer
from identity_service.servicers.changes import ChangeServicer
from identity_service.servicers.groups import GroupServicer
from identity_service.servicers.interceptor import Interceptor
from identity_service.servicers.lanes import Lanes
from identity_service.servicers.ratelimit import Rate, RateLimiter
from identity_service.servicers.tokens import TokenServicer
from identity_service.servicers.users import UserServicer
from identity_service.store.engine import Database


def interceptors(
    access: Access, limiter: RateLimiter | None = None
) -> "list[grpc.aio.ServerInterceptor[Any, Any]]":
    """The server's interceptors; without a `limiter`, calls are not rate limited."""
    return [Interceptor(access, limiter or RateLimiter(Rate(0, 1), Rate(0, 1)))]


def add_to_server(
    server: grpc.aio.Server, db: Database, watch: Watch, lanes: Lanes, tokens: Tokens
) -> list[str]:
    """Register every identity.v1 service; returns their full names. Users
    and groups run in `lanes`; the rare operator calls (tenants,
    credentials) and the change log's reads run in worker threads."""
    user_service_pb2_grpc.add_UserServiceServicer_to_server(UserServicer(Users(db), lanes), server)
    group_service_pb2_grpc.add_GroupServiceServicer_to_server(
        GroupServicer(Groups(db), lanes), server
    )
    tenant_service_pb2_grpc.add_TenantServiceServicer_to_server(TenantServicer(Tenants(db)), server)
    credential_service_pb2_grpc.add_CredentialServiceServicer_to_server(
        CredentialServicer(Credentials(db)), server
    )
    change_service_pb2_grpc.add_ChangeServiceServicer_to_server(
        ChangeServicer(Changes(db), watch), server
    )
    token_service_pb2_grpc.add_TokenServiceServicer_to_server(TokenServicer(tokens), server)
    return [
        module.DESCRIPTOR.services_by_name[name].full_name
        for module, name in (
            (user_service_pb2, "UserService"),
            (group_service_pb2, "GroupService"),
            (tenant_service_pb2, "TenantService"),
            (credential_service_pb2, "CredentialService"),
            (change_service_pb2, "ChangeService"),
            (token_service_pb2, "TokenService"),
        )
    ]


__all__ = ["Lanes", "Rate", "RateLimiter", "add_to_server", "interceptors"]
