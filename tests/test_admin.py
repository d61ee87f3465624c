"""TenantService and CredentialService: tenants are managed by platform
admins; credentials by the tenant's own admins or a platform admin. A
secret is shown once and only its hash is stored."""

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import timestamp_pb2
from identity.v1 import (
    credential_pb2,
    credential_service_pb2,
    credential_service_pb2_grpc,
    tenant_pb2,
    tenant_service_pb2,
    tenant_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service.store.engine import Database
from tests.helpers import (
    Metadata,
    TenantAccess,
    bearer,
    error_info,
    field_violations,
    new_credential,
)
from tests.postgres import Postgres

TenantStub = tenant_service_pb2_grpc.TenantServiceStub
CredentialStub = credential_service_pb2_grpc.CredentialServiceStub
SECRET = re.compile(r"rst_[A-Za-z0-9_-]{43}")


def new_slug() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def outcome(error: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    return error.code(), error_info(error).reason


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def create_tenant(tenants: TenantStub, metadata: Metadata, slug: str) -> tenant_pb2.Tenant:
    return tenants.CreateTenant(
        tenant_service_pb2.CreateTenantRequest(
            tenant_id=slug, tenant=tenant_pb2.Tenant(display_name=f"Tenant {slug}")
        ),
        metadata=metadata,
    )


# Shapes at the edges of the slug rule; only this test creates them.
@pytest.mark.parametrize("slug", ["z", "zz-admin-1", "z" * 63, "z0-9"], ids=lambda s: s[:12])
def test_a_platform_admin_creates_a_tenant_named_by_its_slug(
    tenants: TenantStub, platform_admin: Metadata, slug: str
) -> None:
    """CreateTenant names the tenant "tenants/{tenant_id}" and starts it ACTIVE."""
    created = create_tenant(tenants, platform_admin, slug)
    assert (created.name, created.slug, created.state) == (
        f"tenants/{slug}",
        slug,
        tenant_pb2.Tenant.ACTIVE,
    )
    assert created.display_name == f"Tenant {slug}"
    assert created.create_time == created.update_time
    got = tenants.GetTenant(
        tenant_service_pb2.GetTenantRequest(name=created.name), metadata=platform_admin
    )
    assert got == created


@pytest.mark.parametrize(
    "slug",
    ["", "Acme", "1acme", "-acme", "acme-", "ac_me", "ac me", "acmé", "a" * 64, "tenants/acme"],
    ids=repr,
)
def test_a_malformed_slug_is_an_invalid_tenant_id(
    tenants: TenantStub, platform_admin: Metadata, slug: str
) -> None:
    """A slug off the AIP-122 rule is INVALID_FIELD with a violation on tenant_id."""
    error = refusal(lambda: create_tenant(tenants, platform_admin, slug))
    assert outcome(error) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    assert list(field_violations(error)) == ["tenant_id"]


def test_creating_an_existing_tenant_is_already_exists(
    tenants: TenantStub, platform_admin: Metadata, tenant: TenantAccess
) -> None:
    """CreateTenant: ALREADY_EXISTS (TENANT_EXISTS); the tenant is unchanged."""
    before = tenants.GetTenant(
        tenant_service_pb2.GetTenantRequest(name=tenant.parent), metadata=platform_admin
    )
    error = refusal(lambda: create_tenant(tenants, platform_admin, tenant.slug))
    assert outcome(error) == (grpc.StatusCode.ALREADY_EXISTS, "TENANT_EXISTS")
    after = tenants.GetTenant(
        tenant_service_pb2.GetTenantRequest(name=tenant.parent), metadata=platform_admin
    )
    assert after == before


@pytest.mark.parametrize("name", ["own", "tenants/-"])
def test_a_tenant_admin_may_get_its_own_tenant(
    db: Database, tenants: TenantStub, tenant: TenantAccess, name: str
) -> None:
    """A tenant's "admin" credential may GetTenant its own tenant, also as "tenants/-"."""
    admin = bearer(new_credential(db, tenant.slug, ("admin",)))
    got = tenants.GetTenant(
        tenant_service_pb2.GetTenantRequest(name=tenant.parent if name == "own" else name),
        metadata=admin,
    )
    assert (got.name, got.slug) == (tenant.parent, tenant.slug)


@pytest.mark.parametrize("name", ["tenants/nope-{}", "tenants/-"])
def test_getting_a_missing_tenant_is_not_found(
    tenants: TenantStub, platform_admin: Metadata, name: str
) -> None:
    """GetTenant of a missing tenant, or of "tenants/-" by a platform caller, is NOT_FOUND."""
    request = tenant_service_pb2.GetTenantRequest(name=name.format(uuid.uuid4().hex[:8]))
    error = refusal(lambda: tenants.GetTenant(request, metadata=platform_admin))
    assert outcome(error) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")


@pytest.mark.parametrize("name", ["", "acme", "tenants/", "tenants/acme/users/x"])
def test_a_malformed_tenant_name_is_invalid(
    tenants: TenantStub, platform_admin: Metadata, name: str
) -> None:
    """A malformed resource name is INVALID_ARGUMENT (INVALID_FIELD) on name."""
    request = tenant_service_pb2.GetTenantRequest(name=name)
    error = refusal(lambda: tenants.GetTenant(request, metadata=platform_admin))
    assert outcome(error) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    assert list(field_violations(error)) == ["name"]


def all_tenant_pages(
    tenants: TenantStub, metadata: Metadata, page_size: int
) -> list[tenant_service_pb2.ListTenantsResponse]:
    pages = []
    token = ""
    while True:
        page = tenants.ListTenants(
            tenant_service_pb2.ListTenantsRequest(page_size=page_size, page_token=token),
            metadata=metadata,
        )
        pages.append(page)
        token = page.next_page_token
        if not token:
            return pages


def test_list_tenants_pages_through_every_tenant_by_slug(
    tenants: TenantStub, platform_admin: Metadata
) -> None:
    """ListTenants: by slug, page by page, each tenant exactly once."""
    created = sorted(create_tenant(tenants, platform_admin, new_slug()).slug for _ in range(5))
    pages = all_tenant_pages(tenants, platform_admin, page_size=4)
    slugs = [t.slug for page in pages for t in page.tenants]
    assert all(len(page.tenants) <= 4 for page in pages)
    assert all(len(page.tenants) == 4 for page in pages[:-1])
    assert slugs == sorted(set(slugs))
    assert set(created) <= set(slugs)


def test_list_tenants_refuses_a_forged_page_token(
    tenants: TenantStub, platform_admin: Metadata
) -> None:
    """ListTenants: INVALID_ARGUMENT (INVALID_PAGE_TOKEN)."""
    request = tenant_service_pb2.ListTenantsRequest(page_token="not-a-token")
    error = refusal(lambda: tenants.ListTenants(request, metadata=platform_admin))
    assert outcome(error) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


def test_suspend_and_resume_are_idempotent(
    tenants: TenantStub, platform_admin: Metadata, tenant: TenantAccess
) -> None:
    """SuspendTenant and ResumeTenant repeated change nothing, not even update_time."""
    suspend = tenant_service_pb2.SuspendTenantRequest(name=tenant.parent)
    resume = tenant_service_pb2.ResumeTenantRequest(name=tenant.parent)
    suspended = tenants.SuspendTenant(suspend, metadata=platform_admin)
    assert suspended.state == tenant_pb2.Tenant.SUSPENDED
    assert tenants.SuspendTenant(suspend, metadata=platform_admin) == suspended
    resumed = tenants.ResumeTenant(resume, metadata=platform_admin)
    assert resumed.state == tenant_pb2.Tenant.ACTIVE
    assert resumed.update_time.ToDatetime() > suspended.update_time.ToDatetime()
    assert tenants.ResumeTenant(resume, metadata=platform_admin) == resumed


@pytest.mark.parametrize("method", ["SuspendTenant", "ResumeTenant"])
def test_suspending_or_resuming_a_missing_tenant_is_not_found(
    tenants: TenantStub, platform_admin: Metadata, method: str
) -> None:
    """SuspendTenant, ResumeTenant: NOT_FOUND."""
    name = f"tenants/{new_slug()}"
    calls: dict[str, Callable[[], object]] = {
        "SuspendTenant": lambda: tenants.SuspendTenant(
            tenant_service_pb2.SuspendTenantRequest(name=name), metadata=platform_admin
        ),
        "ResumeTenant": lambda: tenants.ResumeTenant(
            tenant_service_pb2.ResumeTenantRequest(name=name), metadata=platform_admin
        ),
    }
    assert outcome(refusal(calls[method])) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")


def create_credential(
    credentials: CredentialStub,
    metadata: Metadata,
    parent: str,
    scopes: tuple[str, ...] = ("read",),
    **fields: object,
) -> credential_service_pb2.CreateCredentialResponse:
    return credentials.CreateCredential(
        credential_service_pb2.CreateCredentialRequest(
            parent=parent,
            credential=credential_pb2.Credential(scopes=scopes, **fields),  # type: ignore[arg-type]
        ),
        metadata=metadata,
    )


def list_credentials(
    credentials: CredentialStub,
    metadata: Metadata,
    parent: str,
    *,
    show_revoked: bool = False,
    page_size: int = 0,
) -> list[credential_pb2.Credential]:
    found: list[credential_pb2.Credential] = []
    token = ""
    while True:
        page = credentials.ListCredentials(
            credential_service_pb2.ListCredentialsRequest(
                parent=parent, show_revoked=show_revoked, page_size=page_size, page_token=token
            ),
            metadata=metadata,
        )
        found.extend(page.credentials)
        token = page.next_page_token
        if not token:
            return found


def test_create_credential_returns_a_secret_that_works(
    credentials: CredentialStub,
    users: user_service_pb2_grpc.UserServiceStub,
    platform_admin: Metadata,
    tenant: TenantAccess,
) -> None:
    """CreateCredential returns a working secret: "rst_" and 43 URL-safe base64 characters."""
    expire = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    created = create_credential(
        credentials,
        platform_admin,
        tenant.parent,
        ("read", "watch"),
        display_name="Okta production",
        expire_time=timestamp(expire),
    )
    assert SECRET.fullmatch(created.secret)
    credential = created.credential
    assert re.fullmatch(rf"{tenant.parent}/credentials/[^/]+", credential.name)
    assert list(credential.scopes) == ["read", "watch"]
    assert credential.display_name == "Okta production"
    assert credential.expire_time.ToDatetime(tzinfo=UTC) == expire
    assert credential.secret_prefix == created.secret[:8]
    assert not credential.HasField("revoke_time")
    users.ListUsers(
        user_service_pb2.ListUsersRequest(parent=tenant.parent), metadata=bearer(created.secret)
    )


def test_two_credentials_never_share_a_secret(
    credentials: CredentialStub, platform_admin: Metadata, tenant: TenantAccess
) -> None:
    """Secrets are random: fifty in a row are all different."""
    secrets = {
        create_credential(credentials, platform_admin, tenant.parent).secret for _ in range(50)
    }
    assert len(secrets) == 50


def _database_bytes(db: Database, request: pytest.FixtureRequest) -> bytes:
    """Every byte the database keeps on disk: the SQLite file and its WAL, or
    PostgreSQL's files of this database and its write-ahead log."""
    if not db.is_postgresql:
        path = Path(str(db.engine.url.database))
        files = sorted(path.parent.glob(f"{path.name}*"))
    else:
        server: Postgres = request.getfixturevalue("postgres")
        with db.engine.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")  # table files up to date
            oid = conn.exec_driver_sql(
                "SELECT oid FROM pg_database WHERE datname = current_database()"
            ).scalar_one()
            conn.commit()
        base = server.data / "base" / str(oid)
        files = sorted([*base.iterdir(), *(server.data / "pg_wal").glob("0*")])
    return b"".join(p.read_bytes() for p in files if p.is_file())


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(
    db: Database,
    request: pytest.FixtureRequest,
    credentials: CredentialStub,
    platform_admin: Metadata,
    tenant: TenantAccess,
) -> None:
    """Only the secret's SHA-256 is stored (decision 0005); no later answer carries it."""
    created = create_credential(credentials, platform_admin, tenant.parent)
    secret = created.secret
    digest = hashlib.sha256(secret.encode()).hexdigest()
    credential_id = created.credential.name.rsplit("/", 1)[1]
    with db.read() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM credentials WHERE id = :id"), {"id": credential_id}
        ).one()
    stored = [str(value) for value in row]
    assert digest in stored
    assert not any(secret[8:] in value for value in stored)
    files = _database_bytes(db, request)
    assert digest.encode() in files
    assert secret[8:].encode() not in files
    got = credentials.GetCredential(
        credential_service_pb2.GetCredentialRequest(name=created.credential.name),
        metadata=platform_admin,
    )
    listed = list_credentials(credentials, platform_admin, tenant.parent)
    for answer in [got, *listed]:
        assert secret[8:].encode() not in answer.SerializeToString()


@pytest.mark.parametrize(
    "scopes", [(), ("",), ("root",), ("read", "superuser"), ("READ ", "sudo")], ids=repr
)
def test_an_unknown_or_missing_scope_is_an_invalid_field(
    credentials: CredentialStub,
    platform_admin: Metadata,
    tenant: TenantAccess,
    scopes: tuple[str, ...],
) -> None:
    """Unknown or no scopes: INVALID_FIELD on credential.scopes, and nothing is created."""
    before = list_credentials(credentials, platform_admin, tenant.parent)
    error = refusal(lambda: create_credential(credentials, platform_admin, tenant.parent, scopes))
    assert outcome(error) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    assert list(field_violations(error)) == ["credential.scopes"]
    assert list_credentials(credentials, platform_admin, tenant.parent) == before


def test_scopes_are_case_and_space_insensitive(
    credentials: CredentialStub, platform_admin: Metadata, tenant: TenantAccess
) -> None:
    """Scopes are read trimmed and lower-cased, and stored once each."""
    created = create_credential(
        credentials, platform_admin, tenant.parent, (" Read", "WRITE", "read")
    )
    assert list(created.credential.scopes) == ["read", "write"]


@pytest.mark.parametrize("age", [timedelta(seconds=1), timedelta(days=400)], ids=str)
def test_an_expiry_in_the_past_is_an_invalid_field(
    credentials: CredentialStub, platform_admin: Metadata, tenant: TenantAccess, age: timedelta
) -> None:
    """An expiry in the past is INVALID_FIELD on credential.expire_time."""
    expire = timestamp(datetime.now(UTC) - age)
    error = refusal(
        lambda: create_credential(credentials, platform_admin, tenant.parent, expire_time=expire)
    )
    assert outcome(error) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    assert list(field_violations(error)) == ["credential.expire_time"]


def test_creating_a_credential_for_a_missing_tenant_is_not_found(
    credentials: CredentialStub, platform_admin: Metadata
) -> None:
    """CreateCredential: NOT_FOUND for an unknown tenant."""
    error = refusal(lambda: create_credential(credentials, platform_admin, f"tenants/{new_slug()}"))
    assert outcome(error) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")


@pytest.mark.parametrize(
    "fields",
    [{"scopes": ("root",)}, {"expire_time": timestamp(datetime(2000, 1, 1, tzinfo=UTC))}],
    ids=["bad scope", "past expiry"],
)
def test_a_credential_without_admin_scope_is_refused_before_its_request_is_read(
    db: Database, credentials: CredentialStub, tenant: TenantAccess, fields: dict[str, object]
) -> None:
    """Without "admin", CreateCredential is MISSING_SCOPE before the request is validated."""
    error = refusal(
        lambda: credentials.CreateCredential(
            credential_service_pb2.CreateCredentialRequest(
                parent=tenant.parent,
                credential=credential_pb2.Credential(**{"scopes": ["read"], **fields}),  # type: ignore[arg-type]
            ),
            metadata=tenant.metadata,
        )
    )
    assert outcome(error) == (grpc.StatusCode.PERMISSION_DENIED, "MISSING_SCOPE")
    assert error_info(error).metadata["required_scope"] == "admin"


def test_credentials_are_listed_newest_first(
    credentials: CredentialStub, platform_admin: Metadata, tenant: TenantAccess
) -> None:
    """ListCredentials: newest first, the same across pages of any size."""
    created = [
        create_credential(credentials, platform_admin, tenant.parent).credential.name
        for _ in range(5)
    ]
    listed = [c.name for c in list_credentials(credentials, platform_admin, tenant.parent)]
    paged = [
        c.name for c in list_credentials(credentials, platform_admin, tenant.parent, page_size=2)
    ]
    # The tenant's own "scim" credential from the fixture is the oldest.
    assert listed[:5] == created[::-1]
    assert len(listed) == 6
    assert paged == listed
    times = [
        c.create_time.ToDatetime()
        for c in list_credentials(credentials, platform_admin, tenant.parent)
    ]
    assert times == sorted(times, reverse=True)


def test_revoked_credentials_are_listed_only_with_show_revoked(
    credentials: CredentialStub, platform_admin: Metadata, tenant: TenantAccess
) -> None:
    """ListCredentials hides revoked credentials unless show_revoked."""
    name = create_credential(credentials, platform_admin, tenant.parent).credential.name
    credentials.RevokeCredential(
        credential_service_pb2.RevokeCredentialRequest(name=name), metadata=platform_admin
    )
    shown = list_credentials(credentials, platform_admin, tenant.parent)
    everything = list_credentials(credentials, platform_admin, tenant.parent, show_revoked=True)
    assert name not in [c.name for c in shown]
    revoked = [c for c in everything if c.name == name]
    assert len(revoked) == 1
    assert revoked[0].HasField("revoke_time")
    assert len(everything) == len(shown) + 1


def test_revoking_a_credential_is_immediate_and_idempotent(
    credentials: CredentialStub,
    users: user_service_pb2_grpc.UserServiceStub,
    platform_admin: Metadata,
    tenant: TenantAccess,
) -> None:
    """A revoked secret is refused at once; revoking again keeps the first revoke_time."""
    created = create_credential(credentials, platform_admin, tenant.parent)
    revoke = credential_service_pb2.RevokeCredentialRequest(name=created.credential.name)
    first = credentials.RevokeCredential(revoke, metadata=platform_admin)
    assert first.HasField("revoke_time")
    assert credentials.RevokeCredential(revoke, metadata=platform_admin) == first
    request = user_service_pb2.ListUsersRequest(parent=tenant.parent)
    error = refusal(lambda: users.ListUsers(request, metadata=bearer(created.secret)))
    assert outcome(error) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIAL")


@pytest.mark.parametrize("method", ["GetCredential", "RevokeCredential"])
@pytest.mark.parametrize("shape", ["tenants/{slug}/credentials/{id}", "credentials/{id}"])
def test_a_missing_credential_is_not_found(
    credentials: CredentialStub,
    platform_admin: Metadata,
    tenant: TenantAccess,
    method: str,
    shape: str,
) -> None:
    """GetCredential, RevokeCredential: NOT_FOUND."""
    name = shape.format(slug=tenant.slug, id=uuid.uuid4().hex)
    calls: dict[str, Callable[[], object]] = {
        "GetCredential": lambda: credentials.GetCredential(
            credential_service_pb2.GetCredentialRequest(name=name), metadata=platform_admin
        ),
        "RevokeCredential": lambda: credentials.RevokeCredential(
            credential_service_pb2.RevokeCredentialRequest(name=name), metadata=platform_admin
        ),
    }
    assert outcome(refusal(calls[method])) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")


def test_an_empty_parent_makes_a_platform_credential(
    credentials: CredentialStub,
    tenants: TenantStub,
    platform_admin: Metadata,
    tenant: TenantAccess,
) -> None:
    """An empty parent makes a platform credential, "credentials/{id}", reaching every tenant."""
    created = create_credential(credentials, platform_admin, "", ("admin",))
    assert re.fullmatch(r"credentials/[^/]+", created.credential.name)
    listed = list_credentials(credentials, platform_admin, "")
    assert created.credential.name in [c.name for c in listed]
    assert all(c.name.startswith("credentials/") for c in listed)
    assert created.credential.name not in [
        c.name for c in list_credentials(credentials, platform_admin, tenant.parent)
    ]
    got = credentials.GetCredential(
        credential_service_pb2.GetCredentialRequest(name=created.credential.name),
        metadata=platform_admin,
    )
    assert got == created.credential
    platform = bearer(created.secret)
    tenants.ListTenants(tenant_service_pb2.ListTenantsRequest(page_size=1), metadata=platform)
    tenants.GetTenant(tenant_service_pb2.GetTenantRequest(name=tenant.parent), metadata=platform)


@pytest.mark.parametrize("parent", ["own", "tenants/-"])
def test_a_tenant_admin_manages_its_own_tenants_credentials(
    db: Database,
    credentials: CredentialStub,
    tenant: TenantAccess,
    parent: str,
) -> None:
    """A tenant admin creates, lists, gets and revokes its own tenant's credentials."""
    admin = bearer(new_credential(db, tenant.slug, ("admin",)))
    parent = tenant.parent if parent == "own" else parent
    created = create_credential(credentials, admin, parent).credential
    assert created.name.startswith(f"{tenant.parent}/credentials/")
    assert created.name in [c.name for c in list_credentials(credentials, admin, parent)]
    own_name = created.name.replace(tenant.parent, parent)
    got = credentials.GetCredential(
        credential_service_pb2.GetCredentialRequest(name=own_name), metadata=admin
    )
    assert got == created
    revoked = credentials.RevokeCredential(
        credential_service_pb2.RevokeCredentialRequest(name=own_name), metadata=admin
    )
    assert revoked.HasField("revoke_time")


@pytest.mark.parametrize("where", ["other tenant", "platform", "missing tenant"])
def test_a_tenant_admin_cannot_make_credentials_elsewhere(
    db: Database,
    credentials: CredentialStub,
    platform_admin: Metadata,
    tenant: TenantAccess,
    other_tenant: TenantAccess,
    where: str,
) -> None:
    """A tenant admin cannot create in another tenant (NOT_FOUND, as a missing
    one) nor a platform credential (PERMISSION_DENIED: it needs a platform caller)."""
    admin = bearer(new_credential(db, tenant.slug, ("admin",)))
    parent = {
        "other tenant": other_tenant.parent,
        "platform": "",
        "missing tenant": f"tenants/{new_slug()}",
    }[where]
    before = {
        p: list_credentials(credentials, platform_admin, p) for p in (other_tenant.parent, "")
    }
    error = refusal(lambda: create_credential(credentials, admin, parent, ("admin",)))
    expected = (
        (grpc.StatusCode.PERMISSION_DENIED, "MISSING_SCOPE")
        if where == "platform"
        else (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    )
    assert outcome(error) == expected
    after = {p: list_credentials(credentials, platform_admin, p) for p in before}
    assert after == before
