"""identity.v1.TokenService: a tenant credential (the client) exchanges its
own secret for a short-lived access token (RFC 6749 §4.4) that every RPC
accepts like a credential, with at most the client's scopes, refused once
it expires, its client is revoked or its tenant suspended."""

import hashlib
import time
from collections.abc import Callable

import grpc
import pytest
import sqlalchemy as sa
from identity.v1 import (
    change_service_pb2_grpc,
    token_service_pb2,
    token_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service.domain.models import TenantState
from identity_service.service.tenants import OPERATOR, Credentials, Tenants
from identity_service.store.engine import Database
from identity_service.store.tokens import access_tokens
from tests.changes.support import Log
from tests.conftest import ServerThread
from tests.helpers import TenantAccess, bearer, error_info, field_violations


@pytest.fixture(scope="session")
def token_stub(channel: grpc.Channel) -> token_service_pb2_grpc.TokenServiceStub:
    return token_service_pb2_grpc.TokenServiceStub(channel)


def new_client(db: Database, slug: str, scopes: tuple[str, ...] = ("scim",)) -> tuple[str, str]:
    """A further credential of tenant `slug`: its id (the client_id) and secret."""
    credential, secret = Credentials(db).create(OPERATOR, slug, scopes=scopes)
    return credential.id, secret


def issue(
    stub: token_service_pb2_grpc.TokenServiceStub,
    client: tuple[str, str],
    scopes: tuple[str, ...] = (),
) -> token_service_pb2.CreateAccessTokenResponse:
    request = token_service_pb2.CreateAccessTokenRequest(client_id=client[0], scopes=scopes)
    answer: token_service_pb2.CreateAccessTokenResponse = stub.CreateAccessToken(
        request, metadata=bearer(client[1])
    )
    return answer


def list_users(users: user_service_pb2_grpc.UserServiceStub, slug: str, secret: str) -> object:
    request = user_service_pb2.ListUsersRequest(parent=f"tenants/{slug}")
    return users.ListUsers(request, metadata=bearer(secret))


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def test_an_access_token_is_accepted_like_its_client(
    db: Database,
    token_stub: token_service_pb2_grpc.TokenServiceStub,
    users: user_service_pb2_grpc.UserServiceStub,
    tenant: TenantAccess,
) -> None:
    """RFC 6749 §4.4.3: a token issued for the client's credentials reaches the client's tenant."""
    answer = issue(token_stub, new_client(db, tenant.slug))
    assert answer.access_token.startswith("rat_")
    assert list(answer.scopes) == ["scim"]
    request = user_service_pb2.CreateUserRequest(
        parent="tenants/-", user=user_pb2.User(user_name="made-with-a-token")
    )
    created = users.CreateUser(request, metadata=bearer(answer.access_token))
    assert created.name.startswith(f"tenants/{tenant.slug}/users/")


def test_an_access_token_reaches_only_its_own_tenant(
    db: Database,
    token_stub: token_service_pb2_grpc.TokenServiceStub,
    users: user_service_pb2_grpc.UserServiceStub,
    tenant: TenantAccess,
    other_tenant: TenantAccess,
) -> None:
    """Another tenant is NOT_FOUND with a token, exactly as with its client's secret."""
    token = issue(token_stub, new_client(db, tenant.slug)).access_token
    error = refusal(lambda: list_users(users, other_tenant.slug, token))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_a_token_carries_only_the_scopes_asked_for(
    db: Database,
    token_stub: token_service_pb2_grpc.TokenServiceStub,
    users: user_service_pb2_grpc.UserServiceStub,
    tenant: TenantAccess,
) -> None:
    """RFC 6749 §3.3: a "scim" client asking for "read" gets a token that may read, not write."""
    answer = issue(token_stub, new_client(db, tenant.slug), ("read",))
    assert list(answer.scopes) == ["read"]
    list_users(users, tenant.slug, answer.access_token)
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=user_pb2.User(user_name="not-allowed")
    )
    error = refusal(lambda: users.CreateUser(request, metadata=bearer(answer.access_token)))
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "MISSING_SCOPE",
    )


@pytest.mark.parametrize("wanted", [("admin",), ("read", "watch"), ("everything",)])
def test_a_scope_the_client_does_not_hold_is_an_invalid_field(
    db: Database,
    token_stub: token_service_pb2_grpc.TokenServiceStub,
    tenant: TenantAccess,
    wanted: tuple[str, ...],
) -> None:
    """RFC 6749 §5.2 invalid_scope: INVALID_ARGUMENT INVALID_FIELD on "scopes", and no token."""
    client = new_client(db, tenant.slug)
    error = refusal(lambda: issue(token_stub, client, wanted))
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
    )
    assert "scopes" in field_violations(error)
    with db.read() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(access_tokens.c.client_id == client[0])
        ).scalar_one()
    assert count == 0


# Callers that must not get a token: (db, stub, tenant) -> (client_id, bearer secret).
NotTheClient = Callable[
    [Database, token_service_pb2_grpc.TokenServiceStub, TenantAccess], tuple[str, str]
]
NOT_THE_CLIENT: dict[str, NotTheClient] = {
    "another credential's id": lambda db, s, t: (new_client(db, t.slug)[0], t.secret),
    "no client id": lambda db, s, t: ("", t.secret),
    "an access token as the secret": lambda db, s, t: (
        (client := new_client(db, t.slug))[0],
        issue(s, client).access_token,
    ),
    "a platform credential": lambda db, s, t: (
        (platform := Credentials(db).create(OPERATOR, None, scopes=("read",)))[0].id,
        platform[1],
    ),
}


@pytest.mark.parametrize("case", NOT_THE_CLIENT.values(), ids=NOT_THE_CLIENT.keys())
def test_only_a_tenant_credential_authenticated_by_its_own_secret_gets_a_token(
    db: Database,
    token_stub: token_service_pb2_grpc.TokenServiceStub,
    tenant: TenantAccess,
    case: NotTheClient,
) -> None:
    """RFC 6749 §2.3.1: the client id and secret must match; an access token cannot renew itself."""
    client_id, secret = case(db, token_stub, tenant)
    error = refusal(lambda: issue(token_stub, (client_id, secret)))
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_CREDENTIAL",
    )


def test_revoking_the_client_ends_its_tokens_at_once(
    db: Database,
    token_stub: token_service_pb2_grpc.TokenServiceStub,
    users: user_service_pb2_grpc.UserServiceStub,
    tenant: TenantAccess,
) -> None:
    """A token lives no longer than its client: revoked, both are UNAUTHENTICATED."""
    client = new_client(db, tenant.slug)
    token = issue(token_stub, client).access_token
    list_users(users, tenant.slug, token)
    Credentials(db).revoke(OPERATOR, tenant.slug, client[0])
    for secret in (token, client[1]):
        error = refusal(lambda secret=secret: list_users(users, tenant.slug, secret))  # type: ignore[misc]
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_suspended_tenants_tokens_are_refused_until_it_is_resumed(
    db: Database,
    token_stub: token_service_pb2_grpc.TokenServiceStub,
    users: user_service_pb2_grpc.UserServiceStub,
    tenant: TenantAccess,
) -> None:
    """Like its credentials, a suspended tenant's tokens get PERMISSION_DENIED TENANT_SUSPENDED."""
    token = issue(token_stub, new_client(db, tenant.slug)).access_token
    Tenants(db).set_state(OPERATOR, tenant.slug, TenantState.SUSPENDED)
    error = refusal(lambda: list_users(users, tenant.slug, token))
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "TENANT_SUSPENDED",
    )
    Tenants(db).set_state(OPERATOR, tenant.slug, TenantState.ACTIVE)
    list_users(users, tenant.slug, token)


def test_an_access_token_is_refused_once_it_expires(
    database_url: str, tenant: TenantAccess
) -> None:
    """RFC 6749 §4.2.2 expires_in: after it the token is UNAUTHENTICATED, the client still works."""
    db = Database.from_url(database_url)
    server = ServerThread(db, database_url, access_token_seconds=1)
    try:
        client = new_client(db, tenant.slug)
        with grpc.insecure_channel(f"127.0.0.1:{server.running.port}") as channel:
            stub = token_service_pb2_grpc.TokenServiceStub(channel)
            users = user_service_pb2_grpc.UserServiceStub(channel)
            token = issue(stub, client).access_token
            list_users(users, tenant.slug, token)
            time.sleep(1.1)  # the clock must pass the expiry
            error = refusal(lambda: list_users(users, tenant.slug, token))
            list_users(users, tenant.slug, client[1])
    finally:
        server.stop()
        db.dispose()
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_CREDENTIAL",
    )


def test_only_a_tokens_hash_is_stored(
    db: Database, token_stub: token_service_pb2_grpc.TokenServiceStub, tenant: TenantAccess
) -> None:
    """Decision 0005 for tokens: the database keeps the SHA-256 digest, never the token."""
    client = new_client(db, tenant.slug)
    token = issue(token_stub, client).access_token
    with db.read() as conn:
        rows = conn.execute(
            sa.select(access_tokens).where(access_tokens.c.client_id == client[0])
        ).all()
    assert [row.token_hash for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert all(token not in str(tuple(row)) for row in rows)


def test_a_change_stream_opened_with_a_token_ends_when_the_token_expires(
    database_url: str, tenant: TenantAccess
) -> None:
    """A stream outlives its authentication: a checkpoint after the token's expiry refuses it."""
    db = Database.from_url(database_url)
    server = ServerThread(db, database_url, access_token_seconds=1)
    try:
        client = new_client(db, tenant.slug, ("watch",))
        with grpc.insecure_channel(f"127.0.0.1:{server.running.port}") as channel:
            token = issue(token_service_pb2_grpc.TokenServiceStub(channel), client).access_token
            log = Log(
                change_service_pb2_grpc.ChangeServiceStub(channel), "tenants/-", bearer(token)
            )
            with log.watch() as stream:
                stream.until_checkpoint()
                error = stream.error(timeout=5.0)
    finally:
        server.stop()
        db.dispose()
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_CREDENTIAL",
    )
