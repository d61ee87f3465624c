"""One SCIM request's view of identity_service: the client, the IdP's token,
and the base URL resources are located under. Every RPC goes through `rpc`,
which sets the deadline and turns a failed call into its SCIM error."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from scim_facade.client import IdentityClient, metadata
from scim_facade.errors import from_grpc
from scim_facade.settings import Settings

Response = TypeVar("Response")


@dataclass(frozen=True)
class Call:
    client: IdentityClient
    settings: Settings
    token: str
    base_url: str
    # The IdP's request (method, path, client address), sent with every RPC
    # for the change log's actor.
    origin: tuple[str, str, str] | None = None

    async def rpc(self, method: Callable[..., Awaitable[Response]], request: Any) -> Response:
        try:
            return await method(
                request, metadata=metadata(self.token, self.origin), timeout=self.client.timeout
            )
        except grpc.aio.AioRpcError as error:
            raise from_grpc(error) from error
