"""One SCIM request's view of identity_service: the client, the IdP's token,
and the base URL resources are located under. Every RPC goes through `rpc`,
which sets the deadline, sends the request's id, notes the tenant the call
was served for, and turns a failed call into its SCIM error."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from scim_facade.client import IdentityClient, metadata
from scim_facade.errors import from_grpc
from scim_facade.observe import Exchange
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
    # The request's id and tenant (observe.py); None outside an HTTP request.
    exchange: Exchange | None = None

    async def rpc(
        self, method: Callable[..., "grpc.aio.UnaryUnaryCall[Any, Response]"], request: Any
    ) -> Response:
        exchange = self.exchange
        request_id = exchange.request_id if exchange is not None else ""
        call = method(
            request,
            metadata=metadata(self.token, self.origin, request_id),
            timeout=self.client.timeout,
        )
        try:
            response = await call
        except grpc.aio.AioRpcError as error:
            if exchange is not None:
                exchange.served(error.trailing_metadata())
            raise from_grpc(error) from error
        if exchange is not None and exchange.tenant == "-":
            exchange.served(await call.trailing_metadata())
        return response
