"""The FastAPI application: routes under /scim/v2, the request checks every
route shares, and every error rendered as a SCIM Error."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from scim_facade.body_limit import BodyLimit
from scim_facade.client import IdentityClient
from scim_facade.errors import ScimError, from_grpc
from scim_facade.responses import ScimResponse
from scim_facade.routes import groups, search, users
from scim_facade.routes.bulk import router as bulk_router
from scim_facade.routes.common import PREFIX
from scim_facade.routes.discovery import router as discovery_router
from scim_facade.routes.me import router as me_router
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
    `settings` when not given, and then closed on shutdown)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = client is None
        app.state.client = client or IdentityClient(settings)
        try:
            yield
        finally:
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
    _install_error_handlers(app)
    app.add_middleware(ScimPaths)
    app.add_middleware(
        BodyLimit,
        max_body_bytes=settings.max_body_bytes,
        bulk_max_payload_bytes=settings.bulk_max_payload_bytes,
    )
    return app
