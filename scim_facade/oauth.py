"""The OAuth 2.0 token endpoint's logic (RFC 6749 §4.4, the client
credentials grant): read the form, authenticate the client by HTTP Basic or
by the body (§2.3.1), ask identity_service for an access token, and answer
as §5.1 says, or with a §5.2 error. Its own error table: a token endpoint's
errors are OAuth's, not SCIM's. The facade keeps nothing: the client's
secret goes to identity_service as the call's bearer credential."""

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote_plus

import grpc
from identity.v1 import token_service_pb2
from starlette.responses import JSONResponse

from scim_facade.client import IdentityClient, forwardable, metadata
from scim_facade.errors import RETRY_AFTER_SECONDS

FORM = "application/x-www-form-urlencoded"
GRANT_TYPE = "client_credentials"
MAX_BODY_BYTES = 4096  # a token request is a few short parameters
# §5.1: "Cache-Control: no-store" on every answer that carries a token (and,
# harmlessly, on the errors too); Pragma for HTTP/1.0 caches.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_log = logging.getLogger("scim_facade.oauth")


class OAuthError(Exception):
    """A §5.2 error: `error` is the code, the status 400 but for invalid_client."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.status == 401:
            # §5.2: a 401 names the scheme the client may authenticate with.
            headers["WWW-Authenticate"] = 'Basic realm="oauth", charset="UTF-8"'
        if self.status == 503:
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, status_code=self.status, headers=headers)


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, 401)


@dataclass(frozen=True)
class TokenRequest:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


def parse(content_type: str, authorization: str | None, body: bytes) -> TokenRequest:
    """A client credentials request (§4.4.2), its client authenticated
    exactly one way (§2.3)."""
    form = _form(content_type, body)
    grant_type = form.pop("grant_type", "")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", f"only {GRANT_TYPE} is supported")
    in_body = "client_id" in form or "client_secret" in form
    if authorization is not None and in_body:
        raise OAuthError("invalid_request", "authenticate the client one way only (§2.3)")
    if authorization is not None:
        client_id, secret = _basic(authorization)
    elif in_body:
        client_id, secret = form.pop("client_id", ""), form.pop("client_secret", "")
    else:
        raise invalid_client("client authentication is required: HTTP Basic or client_secret")
    if not client_id or not forwardable(secret):
        raise invalid_client("the client credentials are not valid")
    return TokenRequest(client_id, secret, tuple(form.get("scope", "").split()))


def _form(content_type: str, body: bytes) -> dict[str, str]:
    """§3.2: form-encoded, every parameter at most once."""
    if content_type.split(";", 1)[0].strip().lower() != FORM:
        raise OAuthError("invalid_request", f"send the parameters as {FORM}")
    if len(body) > MAX_BODY_BYTES:
        raise OAuthError("invalid_request", "the request is too large")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form is not valid") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise OAuthError("invalid_request", "a parameter is repeated")
    return form


def _basic(authorization: str) -> tuple[str, str]:
    """§2.3.1: Basic with the client id and secret, each form-encoded."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client("authenticate the client with HTTP Basic")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client("the Basic credentials are not valid") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise invalid_client("the Basic credentials are not valid")
    return unquote_plus(client_id), unquote_plus(secret)


async def issue(client: IdentityClient, request: TokenRequest) -> JSONResponse:
    """§5.1: the access token, or the §5.2 error identity_service's answer means."""
    rpc = token_service_pb2.CreateAccessTokenRequest(
        client_id=request.client_id, scopes=request.scopes
    )
    try:
        answer = await client.tokens.CreateAccessToken(
            rpc, metadata=metadata(request.client_secret), timeout=client.timeout
        )
    except grpc.aio.AioRpcError as error:
        raise _from_grpc(error) from error
    expire_time = answer.expire_time.ToDatetime(tzinfo=UTC)
    body = {
        "access_token": answer.access_token,
        "token_type": "Bearer",
        "expires_in": max(int((expire_time - datetime.now(UTC)).total_seconds()), 0),
        "scope": " ".join(answer.scopes),
    }
    return JSONResponse(body, headers=_NO_STORE)


# gRPC status -> §5.2 error: the token endpoint's one error table.
_BY_CODE: dict[grpc.StatusCode, tuple[str, int]] = {
    grpc.StatusCode.UNAUTHENTICATED: ("invalid_client", 401),
    grpc.StatusCode.PERMISSION_DENIED: ("unauthorized_client", 400),
    grpc.StatusCode.INVALID_ARGUMENT: ("invalid_scope", 400),
    grpc.StatusCode.UNAVAILABLE: ("temporarily_unavailable", 503),
    grpc.StatusCode.DEADLINE_EXCEEDED: ("temporarily_unavailable", 503),
}


def _from_grpc(error: grpc.aio.AioRpcError) -> OAuthError:
    mapped = _BY_CODE.get(error.code())
    if mapped is None:
        _log.error("token request failed: %s", error.code().name)
        return OAuthError("server_error", "internal error", 500)
    code, status = mapped
    if status == 503:
        return OAuthError(code, "identity service unavailable; retry later", status)
    return OAuthError(code, error.details() or code, status)
