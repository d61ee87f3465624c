"""The main reads straight to identity_service over gRPC, at the same
concurrency as the SCIM rows, from the same process: the SCIM row divided
by its gRPC row is what the facade (HTTP, JSON, the second hop) costs."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from identity.v1 import (
    group_service_pb2,
    group_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from bench import dataset
from bench.load import Call
from bench.runner import Row, Session
from bench.scenarios import spread


@asynccontextmanager
async def channel(target: str) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(target) as opened:
        yield opened


async def run(session: Session) -> list[Row]:
    """GetUser, ListUsers by userName and externalId, GetGroup."""
    system = session.system
    data = system.dataset
    auth = (("authorization", f"Bearer {system.secret}"),)
    parent = "tenants/-"
    async with channel(system.grpc_target) as opened:
        users = user_service_pb2_grpc.UserServiceStub(opened)
        groups = group_service_pb2_grpc.GroupServiceStub(opened)

        async def get_user(n: int) -> object:
            name = f"{parent}/users/{dataset.user_id(spread(data, n))}"
            return await users.GetUser(user_service_pb2.GetUserRequest(name=name), metadata=auth)

        def list_users(field: str) -> Call:
            async def call(n: int) -> object:
                i = spread(data, n)
                value = dataset.user_name(i) if field == "userName" else dataset.external_id(i)
                request = user_service_pb2.ListUsersRequest(
                    parent=parent, filter=f'{field} eq "{value}"'
                )
                return await users.ListUsers(request, metadata=auth)

            return call

        async def get_group(_: int) -> object:
            name = f"{parent}/groups/{dataset.group_id(data.group_sizes[0])}"
            request = group_service_pb2.GetGroupRequest(name=name)
            return await groups.GetGroup(request, metadata=auth)

        calls = {
            "grpc_get_user": ("gRPC GetUser", get_user),
            "grpc_username_eq": ("gRPC ListUsers userName eq", list_users("userName")),
            "grpc_externalid_eq": ("gRPC ListUsers externalId eq", list_users("externalId")),
            "grpc_get_group": ("gRPC GetGroup (group of 10)", get_group),
        }
        return [await session.measure(key, title, call) for key, (title, call) in calls.items()]
