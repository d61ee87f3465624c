"""identity.v1.UserService: adapts requests to the Users use cases."""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import grpc
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from identity_service.domain.models import User
from identity_service.service.users import Users
from identity_service.servicers import convert, names
from identity_service.servicers.interceptor import caller, own_tenant
from identity_service.servicers.lanes import Lanes

Context = grpc.aio.ServicerContext[Any, Any]


class _ByName(Protocol):
    """Delete, Undelete, Deactivate and Reactivate requests."""

    @property
    def name(self) -> str: ...
    @property
    def etag(self) -> str: ...
    @property
    def request_id(self) -> str: ...


class UserServicer(user_service_pb2_grpc.UserServiceServicer):
    def __init__(self, users: Users, lanes: Lanes) -> None:
        self._users = users
        self._lanes = lanes

    async def GetUser(
        self, request: user_service_pb2.GetUserRequest, context: Context
    ) -> user_pb2.User:
        slug, user_id = names.child(request.name, "users")
        user = await self._lanes.lookup(
            self._users.get, caller(), slug, user_id, show_deleted=request.show_deleted
        )
        return convert.user(user)

    async def ListUsers(
        self, request: user_service_pb2.ListUsersRequest, context: Context
    ) -> user_service_pb2.ListUsersResponse:
        query = convert.list_query(request)
        slug = names.tenant(request.parent)
        lane = self._lanes.lookup if self._users.is_key_lookup(query) else self._lanes.read
        page = await lane(self._users.list, caller(), slug, query)
        return user_service_pb2.ListUsersResponse(
            users=[convert.user(u) for u in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size or 0,
            change_cursor=page.change_cursor,
        )

    async def BatchGetUsers(
        self, request: user_service_pb2.BatchGetUsersRequest, context: Context
    ) -> user_service_pb2.BatchGetUsersResponse:
        slug = own_tenant(names.tenant(request.parent))
        ids = [names.child_of(slug, name, "users", "names") for name in request.names]
        found = await self._lanes.lookup(self._users.batch_get, caller(), slug, ids)
        return user_service_pb2.BatchGetUsersResponse(users=[convert.user(u) for u in found])

    async def CreateUser(
        self, request: user_service_pb2.CreateUserRequest, context: Context
    ) -> user_pb2.User:
        slug = names.tenant(request.parent)
        new = convert.new_user(request.user)
        with convert.fields_of("user"):
            user = await self._lanes.small_write(
                self._users.create, caller(), slug, new, request.request_id
            )
        return convert.user(user)

    async def UpdateUser(
        self, request: user_service_pb2.UpdateUserRequest, context: Context
    ) -> user_pb2.User:
        slug, user_id = names.child(request.user.name, "users", field="user.name")
        changes = convert.user_changes(request.user, request.update_mask)
        with convert.fields_of("user"):
            user = await self._lanes.small_write(
                self._users.update,
                caller(),
                slug,
                user_id,
                changes,
                etag=request.user.etag,
                request_id=request.request_id,
            )
        return convert.user(user)

    async def DeleteUser(
        self, request: user_service_pb2.DeleteUserRequest, context: Context
    ) -> user_pb2.User:
        # The user leaves every group it is in: a write of any size.
        return await self._by_name(self._users.delete, request, self._lanes.write)

    async def UndeleteUser(
        self, request: user_service_pb2.UndeleteUserRequest, context: Context
    ) -> user_pb2.User:
        return await self._by_name(self._users.undelete, request)

    async def DeactivateUser(
        self, request: user_service_pb2.DeactivateUserRequest, context: Context
    ) -> user_pb2.User:
        return await self._by_name(self._users.deactivate, request)

    async def ReactivateUser(
        self, request: user_service_pb2.ReactivateUserRequest, context: Context
    ) -> user_pb2.User:
        return await self._by_name(self._users.reactivate, request)

    async def _by_name(
        self,
        use_case: Callable[..., User],
        request: _ByName,
        lane: Callable[..., Awaitable[User]] | None = None,
    ) -> user_pb2.User:
        slug, user_id = names.child(request.name, "users")
        user = await (lane or self._lanes.small_write)(
            use_case, caller(), slug, user_id, etag=request.etag, request_id=request.request_id
        )
        return convert.user(user)
