"""The FastAPI application: routes under /scim/v2, the request checks every
route shares, and every error rendered as a SCIM Error; probes under
/healthz; request ids, metrics and one log line per request (observe.py)."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from roster_telemetry.exposition import Exposition
from scim_facade.body_limit import BodyLimit
from scim_facade.client import IdentityClient
from scim_facade.errors import ScimError, from_grpc
from scim_facade.metrics import REGISTRY
from scim_facade.observe import Observe
from scim_facade.responses import ScimResponse
from scim_facade.routes import groups, search, users
from scim_facade.routes.bulk import router as bulk_router
from scim_facade.routes.common import PREFIX
from scim_facade.routes.discovery import router as discovery_router
from scim_facade.routes.health import router as health_router
from scim_facade.routes.me import router as me_router
from scim_facade.routes.oauth import router as oauth_router
from scim_facade.settings import Settings

_log = logging.getLogger("scim_facade")
# RFC 7644 endpoints are matched case-insensitively (Entra writes "/users").
_CANONICAL = {
    name.lower(): name
    for name in (
        "Users",
        "Groups",
        "Me",
        "Bulk",
        ".search",
        "ServiceProviderConfig",
        "ServiceProviderConfigs",
        "ResourceTypes",
        "Schemas",
    )
}


def _error_response(error: ScimError) -> ScimResponse:
    return ScimResponse(error.body(), status_code=error.status, headers=error.headers)


class ScimPaths:
    """ASGI middleware: endpoint names in any case and without a trailing
    slash reach their route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = dict(scope, path=self._canonical(scope["path"]))
        await self.app(scope, receive, send)

    @staticmethod
    def _canonical(path: str) -> str:
        if path.lower().startswith(PREFIX.lower()):
            rest = path[len(PREFIX) :].rstrip("/").split("/")
            path = PREFIX + "/".join(_CANONICAL.get(part.lower(), part) for part in rest)
        return path


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ScimError)
    async def scim_error(_: Request, error: ScimError) -> ScimResponse:
        return _error_response(error)

    @app.exception_handler(grpc.aio.AioRpcError)
    async def rpc_error(_: Request, error: grpc.aio.AioRpcError) -> ScimResponse:
        return _error_response(from_grpc(error))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> ScimResponse:
        # Starlette's 405 carries the Allow header (RFC 9110 §15.5.6): keep it.
        headers = dict(error.headers or {})
        return _error_response(ScimError(error.status_code, str(error.detail), headers=headers))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> ScimResponse:
        return _error_response(ScimError(400, str(error.errors()[0]["msg"]), "invalidValue"))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> ScimResponse:
        _log.exception("unexpected error", exc_info=error)
        return _error_response(ScimError(500, "internal error"))


def create_app(settings: Settings, client: IdentityClient | None = None) -> FastAPI:
    """The facade, talking to identity_service through `client` (made from
    `settings` when not given, and then closed on shutdown), with its
    metrics listener open while it runs when `settings.metrics_listen` says."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = client is None
        app.state.client = client or IdentityClient(settings)
        app.state.metrics = (
            Exposition(settings.metrics_listen, REGISTRY) if settings.metrics_listen else None
        )
        try:
            yield
        finally:
            if app.state.metrics is not None:
                app.state.metrics.close()
            if own:
                await app.state.client.close()

    app = FastAPI(
        title="Roster SCIM 2.0",
        version="2.0",
        lifespan=lifespan,
        default_response_class=ScimResponse,
    )
    app.state.settings = settings
    app.state.client = client
    app.include_router(users.router, prefix=PREFIX)
    app.include_router(groups.router, prefix=PREFIX)
    app.include_router(discovery_router, prefix=PREFIX)
    app.include_router(me_router, prefix=PREFIX)
    app.include_router(search.router, prefix=PREFIX)
    app.include_router(bulk_router, prefix=PREFIX)
    app.include_router(oauth_router)
    app.include_router(health_router)
    _install_error_handlers(app)
    # From the outside in: ScimPaths, then Observe (it sees the scope the
    # router marks the route in, and counts and logs a 413 too), then
    # BodyLimit (on the canonical path).
    app.add_middleware(
        BodyLimit,
        max_body_bytes=settings.max_body_bytes,
        bulk_max_payload_bytes=settings.bulk_max_payload_bytes,
    )
    app.add_middleware(Observe, prefix=PREFIX)
    app.add_middleware(ScimPaths)
    return app
