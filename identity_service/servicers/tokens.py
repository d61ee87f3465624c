"""identity.v1.TokenService: adapts requests to the Tokens use case."""

import asyncio
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from identity.v1 import token_service_pb2, token_service_pb2_grpc

from identity_service.service.tokens import Tokens
from identity_service.servicers.interceptor import caller

Context = grpc.aio.ServicerContext[Any, Any]


class TokenServicer(token_service_pb2_grpc.TokenServiceServicer):
    def __init__(self, tokens: Tokens) -> None:
        self._tokens = tokens

    async def CreateAccessToken(
        self, request: token_service_pb2.CreateAccessTokenRequest, context: Context
    ) -> token_service_pb2.CreateAccessTokenResponse:
        issued = await asyncio.to_thread(
            self._tokens.issue, caller(), request.client_id, list(request.scopes)
        )
        expire_time = timestamp_pb2.Timestamp()
        expire_time.FromDatetime(issued.expire_time)
        return token_service_pb2.CreateAccessTokenResponse(
            access_token=issued.token,
            expire_time=expire_time,
            scopes=sorted(s.value for s in issued.scopes),
        )
