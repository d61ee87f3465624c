"""POST /oauth/token: the OAuth 2.0 token endpoint (RFC 6749 §3.2, §4.4).
Outside /scim/v2 and out of the SCIM OpenAPI document: its answers are
OAuth's JSON, not SCIM resources."""

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from scim_facade import oauth

router = APIRouter()
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a password


@router.post(TOKEN_PATH, include_in_schema=False)
async def token(request: Request) -> JSONResponse:
    try:
        parsed = oauth.parse(
            request.headers.get("content-type", ""),
            request.headers.get("authorization"),
            await request.body(),
        )
        return await oauth.issue(request.app.state.client, parsed)
    except oauth.OAuthError as error:
        return error.response()
