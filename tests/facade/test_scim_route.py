"""ScimRoute (scim_facade/routes/common.py, docs/decisions/0022): the SCIM
routes skip FastAPI's per-request dependency solving, so an endpoint that
declares what only that solving would give it is refused when the app is
built, not answered wrongly at run time."""

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.testclient import TestClient

from scim_facade.routes.common import ScimRoute


def _app(router: APIRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router, prefix="/scim/v2")
    return app


def _needs_nothing() -> None:
    return None


async def _with_query(item_id: str, request: Request, count: int = 10) -> Response:
    return Response()


async def _with_header(request: Request, x_extra: str = Header("")) -> Response:
    return Response()


async def _with_dependency(request: Request, _: None = Depends(_needs_nothing)) -> Response:
    return Response()


async def _without_request(item_id: str) -> Response:
    return Response()


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/Items/{item_id}", _with_query),
        ("/Items", _with_header),
        ("/Items", _with_dependency),
        ("/Items/{item_id}", _without_request),
    ],
)
def test_an_endpoint_that_needs_fastapi_to_solve_its_parameters_is_refused(
    path: str, endpoint: object
) -> None:
    router = APIRouter(route_class=ScimRoute)
    with pytest.raises(TypeError, match="the Request and its path parameters only"):
        router.add_api_route(path, endpoint, methods=["GET"])  # type: ignore[arg-type]


def test_the_endpoint_gets_the_request_and_its_path_parameters_as_sent() -> None:
    router = APIRouter(route_class=ScimRoute)

    async def echo(first: str, request: Request, second: str) -> Response:
        return Response(f"{request.method} {first} {second}", media_type="text/plain")

    router.add_api_route("/Items/{first}/{second}", echo, methods=["GET"])
    with TestClient(_app(router)) as client:
        response = client.get("/scim/v2/Items/a%20b/%C3%A9")

    assert response.status_code == 200
    assert response.text == "GET a b é"
