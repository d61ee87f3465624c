"""Probes for orchestrators, outside /scim/v2 and without a token.

/healthz/live answers 200 while the process serves HTTP. /healthz/ready
answers 200 only while identity_service's grpc.health.v1 reports the whole
server ("") SERVING within ROSTER_FACADE_READY_TIMEOUT_SECONDS, and 503
while it reports NOT_SERVING (its database does not answer, or it is
shutting down) or cannot be reached: a facade without identity_service can
answer nothing but 503s, so it should get no traffic."""

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from grpc_health.v1 import health_pb2

from scim_facade.client import IdentityClient
from scim_facade.settings import Settings

router = APIRouter(prefix="/healthz", include_in_schema=False)
_SERVING = health_pb2.HealthCheckResponse.SERVING


@router.get("/live")
async def live() -> JSONResponse:
    """The process answers."""
    return JSONResponse({"status": "live"})


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """identity_service reports SERVING: 200; else 503 saying why."""
    client: IdentityClient = request.app.state.client
    settings: Settings = request.app.state.settings
    try:
        answer = await client.health.Check(
            health_pb2.HealthCheckRequest(service=""), timeout=settings.ready_timeout_seconds
        )
    except grpc.aio.AioRpcError as error:
        return _not_ready(f"identity_service unreachable: {error.code().name}")
    if answer.status != _SERVING:
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
        return _not_ready(f"identity_service reports {name}")
    return JSONResponse({"status": "ready"})


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
