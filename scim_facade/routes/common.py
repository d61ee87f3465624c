"""What every route needs: the caller's token, the per-request Call, the
body, the projection and the ETag headers."""

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import URL

from scim_facade import parsing
from scim_facade.call import Call
from scim_facade.client import IdentityClient, forwardable
from scim_facade.errors import ScimError, unauthorized
from scim_facade.observe import exchange
from scim_facade.projection import Projection
from scim_facade.settings import Settings

PREFIX = "/scim/v2"


class ScimRoute(APIRoute):
    """A route whose endpoint reads the request itself (path parameters as
    strings, then query, headers and body through `request`) and returns its
    Response. FastAPI still routes to it and documents it; what it skips is
    the per-request work that found nothing to do for such an endpoint:
    solving its dependencies, validating parameters, serializing a return
    value (about 40 us per request, docs/decisions/0022). An endpoint that
    declares anything else is refused when the app is built."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        dependant = self.dependant
        declared = (
            dependant.dependencies
            or dependant.query_params
            or dependant.header_params
            or dependant.cookie_params
            or dependant.body_params
        )
        if declared or dependant.request_param_name is None:
            raise TypeError(
                f"{self.path}: a SCIM route's endpoint takes the Request and its path "
                "parameters only"
            )
        endpoint, request_name = self.endpoint, dependant.request_param_name

        async def handle(request: Request) -> Response:
            response: Response = await endpoint(**{request_name: request}, **request.path_params)
            return response

        return handle


def bearer_token(request: Request) -> str:
    """RFC 6750: "Authorization: Bearer <token>"; the token is forwarded to
    identity_service, which decides the tenant."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("send the tenant's token as 'Authorization: Bearer <token>'")
    if not forwardable(token):
        raise unauthorized("the bearer token is not valid")
    return token


def origin(request: Request) -> tuple[str, str, str]:
    """The IdP's request as the change log records it: method, path (no
    query string, which may carry filters with personal data) and client,
    the first X-Forwarded-For address, else the peer."""
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    client = forwarded or (request.client.host if request.client else "")
    return request.method, request.url.path, client


def scim_call(request: Request) -> Call:
    """The Call of this request; 401 without a bearer token. Every route
    makes it first, a plain call: as a FastAPI dependency it cost more per
    request (about 50 us) than the rest of a GET's own work. Only a write
    forwards the IdP's request (the change log's actor): a GET records
    nothing."""
    state = request.app.state
    client: IdentityClient = state.client
    settings: Settings = state.settings
    scope = request.scope
    root = scope.get("app_root_path", scope.get("root_path", ""))
    server = scope.get("server")  # a list under some servers: made hashable
    base_url = _base_url(
        scope["scheme"], request.headers.get("host"), server and tuple(server), root
    )
    called_by = None if request.method == "GET" else origin(request)
    return Call(client, settings, bearer_token(request), base_url, called_by, exchange(scope))


@functools.lru_cache(maxsize=64)
def _base_url(scheme: str, host: str | None, server: tuple[str, int] | None, root_path: str) -> str:
    """Where resources are located, as Starlette's Request.base_url reads
    it from these parts of the request; remembered, because building it
    took a tenth of a GET's time in the facade."""
    headers = [] if host is None else [(b"host", host.encode("latin-1"))]
    path = root_path if root_path.endswith("/") else root_path + "/"
    url = URL(scope={"scheme": scheme, "server": server, "path": path, "headers": headers})
    return str(url).rstrip("/") + PREFIX


_MEDIA_TYPES = ("application/scim+json", "application/json")


def check_media_type(request: Request) -> None:
    """A request body must be SCIM or plain JSON (RFC 7644 §3.1): else 415.
    Checked where a route reads a body, so a wrong method is still 405."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _MEDIA_TYPES:
        raise ScimError(415, "send application/scim+json (or application/json)")


async def body(request: Request) -> dict[str, Any]:
    check_media_type(request)
    return parsing.json_body(await request.body())


def projection(request: Request) -> Projection:
    query = request.query_params
    return Projection.of(query.get("attributes"), query.get("excludedAttributes"))


def if_match(request: Request) -> str:
    """The If-Match precondition as identity.v1 reads an etag ("" for any)."""
    value = request.headers.get("if-match", "").strip()
    return "" if value == "*" else value
