"""Authentication and scopes. Every RPC except health needs
"authorization: Bearer <secret>"; the credential decides the tenant and the
scopes; bad credentials are refused alike; secrets never reach the logs."""

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from identity.v1 import (
    credential_pb2,
    credential_service_pb2,
    credential_service_pb2_grpc,
    group_service_pb2,
    tenant_service_pb2,
    tenant_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service import servicers
from identity_service.domain.models import NewUser, now
from identity_service.service.access import Access, new_secret
from identity_service.service.tenants import OPERATOR, Credentials
from identity_service.service.users import Users
from identity_service.servicers.interceptor import caller
from identity_service.store.engine import Database
from tests.conftest import LoopThread, ServerThread
from tests.helpers import (
    Metadata,
    Stubs,
    TenantAccess,
    bearer,
    error_info,
    new_credential,
    new_tenant,
)


@pytest.fixture
def admin_tenant(db: Database) -> TenantAccess:
    """A fresh tenant whose credential may call one RPC of every service."""
    return new_tenant(db, scopes=("scim", "admin"))


# One representative RPC of each identity.v1 service: (stubs, slug, metadata).
Rpc = Callable[[Stubs, str, Metadata], object]
REPRESENTATIVE: dict[str, Rpc] = {
    "UserService.ListUsers": lambda s, slug, md: s.users.ListUsers(
        user_service_pb2.ListUsersRequest(parent=f"tenants/{slug}"), metadata=md
    ),
    "GroupService.ListGroups": lambda s, slug, md: s.groups.ListGroups(
        group_service_pb2.ListGroupsRequest(parent=f"tenants/{slug}"), metadata=md
    ),
    "TenantService.GetTenant": lambda s, slug, md: s.tenants.GetTenant(
        tenant_service_pb2.GetTenantRequest(name=f"tenants/{slug}"), metadata=md
    ),
    "CredentialService.ListCredentials": lambda s, slug, md: s.credentials.ListCredentials(
        credential_service_pb2.ListCredentialsRequest(parent=f"tenants/{slug}"), metadata=md
    ),
}
each_service = pytest.mark.parametrize("rpc", REPRESENTATIVE.values(), ids=REPRESENTATIVE.keys())


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def revoked_secret(db: Database, stubs: Stubs, access: TenantAccess, rpc: Rpc) -> str:
    """A secret that worked, then was revoked through CredentialService."""
    credential, secret = Credentials(db).create(OPERATOR, access.slug, scopes=("scim", "admin"))
    rpc(stubs, access.slug, bearer(secret))
    stubs.credentials.RevokeCredential(
        credential_service_pb2.RevokeCredentialRequest(
            name=f"tenants/{access.slug}/credentials/{credential.id}"
        ),
        metadata=bearer(access.secret),
    )
    return secret


def expired_secret(db: Database, stubs: Stubs, access: TenantAccess, rpc: Rpc) -> str:
    """A secret that worked, then reached its expiry (half a second later;
    a server that remembers it still refuses it from then on)."""
    expire_time = now() + timedelta(seconds=0.5)
    _, secret = Credentials(db).create(
        OPERATOR, access.slug, scopes=("scim", "admin"), expire_time=expire_time
    )
    rpc(stubs, access.slug, bearer(secret))
    time.sleep(max((expire_time - now()).total_seconds(), 0) + 0.01)  # the clock must pass it
    return secret


# Each bad credential, as call metadata: (db, stubs, a tenant, rpc) -> metadata.
BadCredential = Callable[[Database, Stubs, TenantAccess, Rpc], Metadata]
BAD_CREDENTIALS: dict[str, BadCredential] = {
    "missing header": lambda db, s, t, rpc: (),
    "other header": lambda db, s, t, rpc: (("x-authorization", f"Bearer {t.secret}"),),
    "wrong scheme": lambda db, s, t, rpc: (("authorization", f"Basic {t.secret}"),),
    "empty bearer": lambda db, s, t, rpc: (("authorization", "Bearer "),),
    "malformed secret": lambda db, s, t, rpc: bearer("not-a-roster-secret"),
    "truncated secret": lambda db, s, t, rpc: bearer(t.secret[:-1]),
    "unknown secret": lambda db, s, t, rpc: bearer(new_secret()),
    "revoked credential": lambda db, s, t, rpc: bearer(revoked_secret(db, s, t, rpc)),
    "expired credential": lambda db, s, t, rpc: bearer(expired_secret(db, s, t, rpc)),
}
# The ones that present a secret: their answers must be identical, so a caller
# learns nothing about a secret from the refusal.
PRESENTED_SECRETS = (
    "malformed secret",
    "truncated secret",
    "unknown secret",
    "revoked credential",
    "expired credential",
)


@each_service
def test_each_service_answers_a_valid_credential(
    stubs: Stubs, admin_tenant: TenantAccess, rpc: Rpc
) -> None:
    """With a good credential each representative RPC succeeds (the refusals below are real)."""
    rpc(stubs, admin_tenant.slug, admin_tenant.metadata)


@each_service
@pytest.mark.parametrize("case", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
def test_a_bad_credential_is_unauthenticated(
    db: Database, stubs: Stubs, admin_tenant: TenantAccess, rpc: Rpc, case: BadCredential
) -> None:
    """No, malformed, unknown, revoked or expired credential: UNAUTHENTICATED INVALID_CREDENTIAL."""
    metadata = case(db, stubs, admin_tenant, rpc)
    error = refusal(lambda: rpc(stubs, admin_tenant.slug, metadata))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    info = error_info(error)
    assert (info.reason, info.domain) == ("INVALID_CREDENTIAL", "roster.identity.v1")


@each_service
def test_malformed_unknown_revoked_and_expired_secrets_get_the_same_answer(
    db: Database, stubs: Stubs, admin_tenant: TenantAccess, rpc: Rpc
) -> None:
    """A refusal never tells why a presented secret is bad ("indistinguishable on purpose")."""
    answers: set[tuple[grpc.StatusCode, str | None, bytes]] = set()
    for name in PRESENTED_SECRETS:
        metadata = BAD_CREDENTIALS[name](db, stubs, admin_tenant, rpc)
        error = refusal(functools.partial(rpc, stubs, admin_tenant.slug, metadata))
        answers.add((error.code(), error.details(), error_info(error).SerializeToString()))
    assert len(answers) == 1


def test_a_credential_is_refused_once_its_expiry_passes(
    db: Database, users: user_service_pb2_grpc.UserServiceStub, tenant: TenantAccess
) -> None:
    """Credential.expire_time: "after this time the credential is refused"."""
    expire_time = now() + timedelta(seconds=1)
    _, secret = Credentials(db).create(
        OPERATOR, tenant.slug, scopes=("read",), expire_time=expire_time
    )
    request = user_service_pb2.ListUsersRequest(parent=tenant.parent)
    users.ListUsers(request, metadata=bearer(secret))
    time.sleep(max((expire_time - now()).total_seconds(), 0) + 0.1)
    error = refusal(lambda: users.ListUsers(request, metadata=bearer(secret)))
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_CREDENTIAL",
    )


def test_a_credential_revoked_elsewhere_is_refused_once_remembering_it_lapses(
    database_url: str, tenant: TenantAccess
) -> None:
    """A replica remembers an accepted secret for ROSTER_AUTH_CACHE_SECONDS;
    a revocation made through another process (another replica: no commit
    of its own tells this one) takes effect when that time is over."""
    replica, elsewhere = Database.from_url(database_url), Database.from_url(database_url)
    server = ServerThread(replica, database_url, auth_cache_seconds=0.5)
    credential, secret = Credentials(elsewhere).create(OPERATOR, tenant.slug, scopes=("read",))
    request = user_service_pb2.ListUsersRequest(parent=tenant.parent)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.running.port}") as channel:
            users = user_service_pb2_grpc.UserServiceStub(channel)
            users.ListUsers(request, metadata=bearer(secret))
            Credentials(elsewhere).revoke(OPERATOR, tenant.slug, credential.id)
            users.ListUsers(request, metadata=bearer(secret))  # still remembered
            time.sleep(0.6)
            error = refusal(lambda: users.ListUsers(request, metadata=bearer(secret)))
    finally:
        server.stop()
        replica.dispose()
        elsewhere.dispose()
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


@each_service
def test_a_suspended_tenants_credentials_are_refused_until_it_is_resumed(
    stubs: Stubs,
    admin_tenant: TenantAccess,
    platform_admin: Metadata,
    rpc: Rpc,
) -> None:
    """A suspended tenant's credentials get PERMISSION_DENIED TENANT_SUSPENDED until resumed."""
    name = admin_tenant.parent
    stubs.tenants.SuspendTenant(
        tenant_service_pb2.SuspendTenantRequest(name=name), metadata=platform_admin
    )
    error = refusal(lambda: rpc(stubs, admin_tenant.slug, admin_tenant.metadata))
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "TENANT_SUSPENDED",
    )
    stubs.tenants.ResumeTenant(
        tenant_service_pb2.ResumeTenantRequest(name=name), metadata=platform_admin
    )
    rpc(stubs, admin_tenant.slug, admin_tenant.metadata)


# The scope matrix over every RPC is tests/test_scopes.py.


def test_a_tenant_admin_credential_cannot_create_a_tenant(
    db: Database,
    tenants: tenant_service_pb2_grpc.TenantServiceStub,
    tenant: TenantAccess,
    platform_admin: Metadata,
) -> None:
    """A tenant's "admin" credential cannot CreateTenant (MISSING_SCOPE); no tenant appears."""
    tenant_admin = bearer(new_credential(db, tenant.slug, ("admin",)))
    slug = f"t-{uuid.uuid4().hex[:12]}"
    error = refusal(
        lambda: tenants.CreateTenant(
            tenant_service_pb2.CreateTenantRequest(tenant_id=slug), metadata=tenant_admin
        )
    )
    assert (error.code(), error_info(error).reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "MISSING_SCOPE",
    )
    missing = refusal(
        lambda: tenants.GetTenant(
            tenant_service_pb2.GetTenantRequest(name=f"tenants/{slug}"), metadata=platform_admin
        )
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def _tenant_of_caller(request: bytes, context: object) -> AsyncIterator[bytes]:
    yield (caller().tenant_slug or "").encode()


async def _tenant_of_caller_per_message(
    requests: AsyncIterator[bytes], context: object
) -> AsyncIterator[bytes]:
    async for _ in requests:
        yield (caller().tenant_slug or "").encode()


async def _never_answer(request: bytes, context: object) -> AsyncIterator[bytes]:
    await asyncio.Event().wait()
    yield b""


@pytest.fixture
def probe_target(db: Database) -> Iterator[str]:
    """A server with the real interceptor and a streaming probe service that
    answers the caller's tenant: identity.v1 has no streaming method yet,
    but the change stream will be one."""
    thread = LoopThread()
    handlers = {
        "ServerStream": grpc.unary_stream_rpc_method_handler(_tenant_of_caller),
        "BidiStream": grpc.stream_stream_rpc_method_handler(_tenant_of_caller_per_message),
        "Hang": grpc.unary_stream_rpc_method_handler(_never_answer),
    }

    async def start() -> tuple[grpc.aio.Server, int]:
        server = grpc.aio.server(interceptors=servicers.interceptors(Access(db)))
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler("roster.test.Probe", handlers)]
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return server, port

    server, port = thread.run(start())
    yield f"127.0.0.1:{port}"
    thread.run(server.stop(0))
    thread.close()


def _probe(channel: grpc.Channel, method: str, metadata: Metadata) -> list[bytes]:
    path = f"/roster.test.Probe/{method}"
    if method == "ServerStream":
        return list(channel.unary_stream(path, None, None)(b"", metadata=metadata))
    return list(channel.stream_stream(path, None, None)(iter([b"", b""]), metadata=metadata))


@pytest.mark.parametrize("method", ["ServerStream", "BidiStream"])
def test_a_streaming_method_needs_a_credential_too(
    probe_target: str, tenant: TenantAccess, method: str
) -> None:
    """Streaming methods are authenticated like unary ones and see their caller's tenant."""
    with grpc.insecure_channel(probe_target) as channel:
        error = refusal(lambda: _probe(channel, method, ()))
        assert (error.code(), error_info(error).reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_CREDENTIAL",
        )
        answers = _probe(channel, method, tenant.metadata)
    assert answers == [tenant.slug.encode()] * (1 if method == "ServerStream" else 2)


def test_a_call_given_up_by_its_client_is_logged_as_cancelled(
    caplog: pytest.LogCaptureFixture, probe_target: str, tenant: TenantAccess
) -> None:
    """The RPC's log line says CANCELLED, not OK, for a call its client gave up."""
    caplog.set_level(logging.INFO, logger="identity_service")
    with grpc.insecure_channel(probe_target) as channel:
        call = channel.unary_stream("/roster.test.Probe/Hang", None, None)
        error = refusal(lambda: list(call(b"", metadata=tenant.metadata, timeout=0.2)))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    deadline = time.monotonic() + 5
    while not _rpc_lines(caplog) and time.monotonic() < deadline:
        time.sleep(0.01)
    [line] = _rpc_lines(caplog)
    assert "method=/roster.test.Probe/Hang" in line.getMessage()
    assert "status=CANCELLED" in line.getMessage()


@pytest.mark.parametrize("service", ["", "identity.v1.UserService", "identity.v1.GroupService"])
def test_the_health_check_needs_no_credential(channel: grpc.Channel, service: str) -> None:
    """grpc.health.v1 answers without a credential: load balancers hold no secret."""
    health = health_pb2_grpc.HealthStub(channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service=service))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def _credential(
    credentials: credential_service_pb2_grpc.CredentialServiceStub,
    name: str,
    metadata: Metadata,
) -> credential_pb2.Credential:
    return credentials.GetCredential(
        credential_service_pb2.GetCredentialRequest(name=name), metadata=metadata
    )


def test_a_successful_call_records_the_credentials_last_use_time(
    db: Database,
    users: user_service_pb2_grpc.UserServiceStub,
    credentials: credential_service_pb2_grpc.CredentialServiceStub,
    tenant: TenantAccess,
    platform_admin: Metadata,
) -> None:
    """A successful call sets last_use_time, which moves at most once a minute."""
    credential, secret = Credentials(db).create(OPERATOR, tenant.slug, scopes=("read",))
    name = f"{tenant.parent}/credentials/{credential.id}"
    assert not _credential(credentials, name, platform_admin).HasField("last_use_time")
    before = now()
    request = user_service_pb2.ListUsersRequest(parent=tenant.parent)
    users.ListUsers(request, metadata=bearer(secret))
    after = now()
    first = _credential(credentials, name, platform_admin).last_use_time
    assert before <= first.ToDatetime(tzinfo=before.tzinfo) <= after
    users.ListUsers(request, metadata=bearer(secret))
    assert _credential(credentials, name, platform_admin).last_use_time == first


def test_a_refused_call_does_not_record_a_last_use_time(
    db: Database,
    users: user_service_pb2_grpc.UserServiceStub,
    credentials: credential_service_pb2_grpc.CredentialServiceStub,
    tenant: TenantAccess,
    platform_admin: Metadata,
) -> None:
    """A refused (revoked) credential's last_use_time stays unset."""
    credential, secret = Credentials(db).create(OPERATOR, tenant.slug, scopes=("read",))
    name = f"{tenant.parent}/credentials/{credential.id}"
    credentials.RevokeCredential(
        credential_service_pb2.RevokeCredentialRequest(name=name), metadata=platform_admin
    )
    request = user_service_pb2.ListUsersRequest(parent=tenant.parent)
    refusal(lambda: users.ListUsers(request, metadata=bearer(secret)))
    assert not _credential(credentials, name, platform_admin).HasField("last_use_time")


def _rpc_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("rpc method=")]


def test_secrets_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture,
    db: Database,
    stubs: Stubs,
    admin_tenant: TenantAccess,
) -> None:
    """One log line per RPC and never a secret or its hash, on success or refusal."""
    caplog.set_level(logging.INFO, logger="identity_service")
    reader = new_credential(db, admin_tenant.slug, ("read",))
    revoked = revoked_secret(db, stubs, admin_tenant, REPRESENTATIVE["UserService.ListUsers"])
    unknown = new_secret()
    created = stubs.credentials.CreateCredential(
        credential_service_pb2.CreateCredentialRequest(
            parent=admin_tenant.parent,
            credential=credential_pb2.Credential(
                scopes=["read"],
                expire_time=timestamp_pb2.Timestamp(seconds=int(time.time()) + 3600),
            ),
        ),
        metadata=admin_tenant.metadata,
    ).secret
    caplog.clear()
    calls: list[Callable[[], object]] = [
        lambda: stubs.users.ListUsers(
            user_service_pb2.ListUsersRequest(parent=admin_tenant.parent),
            metadata=admin_tenant.metadata,
        ),
        lambda: stubs.users.ListUsers(
            user_service_pb2.ListUsersRequest(parent=admin_tenant.parent),
            metadata=bearer(created),
        ),
        lambda: stubs.users.CreateUser(
            user_service_pb2.CreateUserRequest(
                parent=admin_tenant.parent, user=user_pb2.User(user_name="x")
            ),
            metadata=bearer(reader),
        ),
        lambda: stubs.users.GetUser(
            user_service_pb2.GetUserRequest(name=f"{admin_tenant.parent}/users/{reader}"),
            metadata=bearer(reader),
        ),
        lambda: stubs.groups.ListGroups(
            group_service_pb2.ListGroupsRequest(parent=admin_tenant.parent),
            metadata=bearer(revoked),
        ),
        lambda: stubs.groups.ListGroups(
            group_service_pb2.ListGroupsRequest(parent=admin_tenant.parent),
            metadata=bearer(unknown),
        ),
        lambda: stubs.groups.ListGroups(
            group_service_pb2.ListGroupsRequest(parent=admin_tenant.parent),
            metadata=(("authorization", f"Basic {admin_tenant.secret}"),),
        ),
    ]
    for call in calls:
        with contextlib.suppress(grpc.RpcError):
            call()
    # The server may answer an aborted call before it writes that call's line.
    deadline = time.monotonic() + 5
    while len(_rpc_lines(caplog)) < len(calls) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(_rpc_lines(caplog)) == len(calls)
    logged = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    for secret in (admin_tenant.secret, reader, revoked, unknown, created):
        assert secret not in logged
        assert secret[len("rst_") :] not in logged
        assert hashlib.sha256(secret.encode()).hexdigest() not in logged


def test_a_remembered_credential_is_forgotten_when_access_changes_not_when_data_does(
    db: Database, tenant: TenantAccess
) -> None:
    """Decision 0010: writes of users and groups keep a remembered secret
    (an IdP's sync would otherwise authenticate in the database on every
    call); revoking a credential of the tenant forgets it at once."""
    access = Access(db, remember_seconds=60)
    try:
        access.authenticate(tenant.secret)
        caller = access.remembered(tenant.secret)
        assert caller is not None
        Users(db).create(caller, tenant.slug, NewUser(f"u-{uuid.uuid4().hex[:8]}"))
        kept = access.remembered(tenant.secret)
        other, _ = Credentials(db).create(OPERATOR, tenant.slug, scopes=("read",))
        Credentials(db).revoke(OPERATOR, tenant.slug, other.id)
        forgotten = access.remembered(tenant.secret)
    finally:
        access.close()

    assert kept == caller
    assert forgotten is None
