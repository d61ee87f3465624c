"""The scope matrix: every identity.v1 RPC, enumerated from the generated
descriptors, called by tenant and platform credentials of each scope. The
README and the protos: reads need "read" or "scim", changes "write" or
"scim", ChangeService "watch", CredentialService and GetTenant "admin",
the rest of TenantService a platform credential with "admin". A refusal is
PERMISSION_DENIED MISSING_SCOPE naming what is missing, and changes nothing."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import grpc
import pytest
from google.protobuf import field_mask_pb2
from identity.v1 import (
    change_service_pb2_grpc,
    credential_pb2,
    group_pb2,
    tenant_service_pb2,
    token_service_pb2,
    user_pb2,
)

from identity_service.service.tenants import OPERATOR, Credentials
from identity_service.store.engine import Database
from tests.helpers import Metadata, Stubs, TenantAccess, bearer, error_info, new_credential
from tests.isolation import CH, C, G, U, every_rpc

T = tenant_service_pb2


@dataclass
class Target:
    """A fresh tenant; the resources an RPC needs are made on first use
    with the tenant's own all-powerful credential, not the one under test."""

    stubs: Stubs
    changes: change_service_pb2_grpc.ChangeServiceStub
    slug: str
    owner: Metadata
    metadata: Metadata  # the credential under test
    client_id: str  # its id

    @property
    def parent(self) -> str:
        return f"tenants/{self.slug}"

    def _user(self) -> str:
        user = self.stubs.users.CreateUser(
            U.CreateUserRequest(
                parent=self.parent, user=user_pb2.User(user_name=f"u-{uuid.uuid4().hex}")
            ),
            metadata=self.owner,
        )
        return user.name

    def _group(self) -> str:
        group = self.stubs.groups.CreateGroup(
            G.CreateGroupRequest(
                parent=self.parent, group=group_pb2.Group(display_name=uuid.uuid4().hex)
            ),
            metadata=self.owner,
        )
        return group.name

    @cached_property
    def user(self) -> str:
        return self._user()

    @cached_property
    def group(self) -> str:
        return self._group()

    @cached_property
    def deleted_user(self) -> str:
        name = self._user()
        self.stubs.users.DeleteUser(U.DeleteUserRequest(name=name), metadata=self.owner)
        return name

    @cached_property
    def deleted_group(self) -> str:
        name = self._group()
        self.stubs.groups.DeleteGroup(G.DeleteGroupRequest(name=name), metadata=self.owner)
        return name

    @cached_property
    def credential(self) -> str:
        return self.stubs.credentials.CreateCredential(
            C.CreateCredentialRequest(
                parent=self.parent, credential=credential_pb2.Credential(scopes=["read"])
            ),
            metadata=self.owner,
        ).credential.name

    def prepared_log(self) -> object:
        """The log once every resource a call may need exists."""
        for resource in (self.user, self.group, self.deleted_user, self.deleted_group):
            assert resource
        assert self.credential
        return self.log()

    def log(self) -> object:
        """The tenant's change log, as its owner reads it."""
        return self.changes.ListChanges(
            CH.ListChangesRequest(parent=self.parent, page_size=1000), metadata=self.owner
        )


def _first_event(t: Target) -> object:
    stream = t.changes.WatchChanges(
        CH.WatchChangesRequest(parent=t.parent, start_cursor=""), metadata=t.metadata, timeout=30
    )
    try:
        return next(iter(stream))
    finally:
        stream.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leaves it untyped


def _mask(path: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=[path])


Call = Callable[[Target], object]
CALLS: dict[str, Call] = {
    "UserService.GetUser": lambda t: t.stubs.users.GetUser(
        U.GetUserRequest(name=t.user), metadata=t.metadata
    ),
    "UserService.ListUsers": lambda t: t.stubs.users.ListUsers(
        U.ListUsersRequest(parent=t.parent), metadata=t.metadata
    ),
    "UserService.BatchGetUsers": lambda t: t.stubs.users.BatchGetUsers(
        U.BatchGetUsersRequest(parent=t.parent, names=[t.user]), metadata=t.metadata
    ),
    "UserService.CreateUser": lambda t: t.stubs.users.CreateUser(
        U.CreateUserRequest(parent=t.parent, user=user_pb2.User(user_name="new")),
        metadata=t.metadata,
    ),
    "UserService.UpdateUser": lambda t: t.stubs.users.UpdateUser(
        U.UpdateUserRequest(
            user=user_pb2.User(name=t.user, display_name="changed"),
            update_mask=_mask("display_name"),
        ),
        metadata=t.metadata,
    ),
    "UserService.DeleteUser": lambda t: t.stubs.users.DeleteUser(
        U.DeleteUserRequest(name=t.user), metadata=t.metadata
    ),
    "UserService.UndeleteUser": lambda t: t.stubs.users.UndeleteUser(
        U.UndeleteUserRequest(name=t.deleted_user), metadata=t.metadata
    ),
    "UserService.DeactivateUser": lambda t: t.stubs.users.DeactivateUser(
        U.DeactivateUserRequest(name=t.user), metadata=t.metadata
    ),
    "UserService.ReactivateUser": lambda t: t.stubs.users.ReactivateUser(
        U.ReactivateUserRequest(name=t.user), metadata=t.metadata
    ),
    "GroupService.GetGroup": lambda t: t.stubs.groups.GetGroup(
        G.GetGroupRequest(name=t.group), metadata=t.metadata
    ),
    "GroupService.ListGroups": lambda t: t.stubs.groups.ListGroups(
        G.ListGroupsRequest(parent=t.parent), metadata=t.metadata
    ),
    "GroupService.BatchGetGroups": lambda t: t.stubs.groups.BatchGetGroups(
        G.BatchGetGroupsRequest(parent=t.parent, names=[t.group]), metadata=t.metadata
    ),
    "GroupService.CreateGroup": lambda t: t.stubs.groups.CreateGroup(
        G.CreateGroupRequest(parent=t.parent, group=group_pb2.Group(display_name="new")),
        metadata=t.metadata,
    ),
    "GroupService.UpdateGroup": lambda t: t.stubs.groups.UpdateGroup(
        G.UpdateGroupRequest(
            group=group_pb2.Group(name=t.group, display_name="changed"),
            update_mask=_mask("display_name"),
        ),
        metadata=t.metadata,
    ),
    "GroupService.DeleteGroup": lambda t: t.stubs.groups.DeleteGroup(
        G.DeleteGroupRequest(name=t.group), metadata=t.metadata
    ),
    "GroupService.UndeleteGroup": lambda t: t.stubs.groups.UndeleteGroup(
        G.UndeleteGroupRequest(name=t.deleted_group), metadata=t.metadata
    ),
    "GroupService.AddMembers": lambda t: t.stubs.groups.AddMembers(
        G.AddMembersRequest(group=t.group, members=[t.user]), metadata=t.metadata
    ),
    "GroupService.RemoveMembers": lambda t: t.stubs.groups.RemoveMembers(
        G.RemoveMembersRequest(group=t.group, members=[t.user]), metadata=t.metadata
    ),
    "GroupService.ReplaceMembers": lambda t: t.stubs.groups.ReplaceMembers(
        G.ReplaceMembersRequest(group=t.group, members=[t.user]), metadata=t.metadata
    ),
    "GroupService.ModifyGroup": lambda t: t.stubs.groups.ModifyGroup(
        G.ModifyGroupRequest(group=group_pb2.Group(name=t.group), add_members=[t.user]),
        metadata=t.metadata,
    ),
    "GroupService.ListMembers": lambda t: t.stubs.groups.ListMembers(
        G.ListMembersRequest(parent=t.group), metadata=t.metadata
    ),
    "GroupService.ListMemberships": lambda t: t.stubs.groups.ListMemberships(
        G.ListMembershipsRequest(member=t.user), metadata=t.metadata
    ),
    "CredentialService.CreateCredential": lambda t: t.stubs.credentials.CreateCredential(
        C.CreateCredentialRequest(
            parent=t.parent, credential=credential_pb2.Credential(scopes=["read"])
        ),
        metadata=t.metadata,
    ),
    "CredentialService.GetCredential": lambda t: t.stubs.credentials.GetCredential(
        C.GetCredentialRequest(name=t.credential), metadata=t.metadata
    ),
    "CredentialService.ListCredentials": lambda t: t.stubs.credentials.ListCredentials(
        C.ListCredentialsRequest(parent=t.parent), metadata=t.metadata
    ),
    "CredentialService.RevokeCredential": lambda t: t.stubs.credentials.RevokeCredential(
        C.RevokeCredentialRequest(name=t.credential), metadata=t.metadata
    ),
    "TenantService.CreateTenant": lambda t: t.stubs.tenants.CreateTenant(
        T.CreateTenantRequest(tenant_id=f"t-{uuid.uuid4().hex[:12]}"), metadata=t.metadata
    ),
    "TenantService.GetTenant": lambda t: t.stubs.tenants.GetTenant(
        T.GetTenantRequest(name=t.parent), metadata=t.metadata
    ),
    "TenantService.ListTenants": lambda t: t.stubs.tenants.ListTenants(
        T.ListTenantsRequest(page_size=1), metadata=t.metadata
    ),
    "TenantService.SuspendTenant": lambda t: t.stubs.tenants.SuspendTenant(
        T.SuspendTenantRequest(name=t.parent), metadata=t.metadata
    ),
    "TenantService.ResumeTenant": lambda t: t.stubs.tenants.ResumeTenant(
        T.ResumeTenantRequest(name=t.parent), metadata=t.metadata
    ),
    "ChangeService.ListChanges": lambda t: t.changes.ListChanges(
        CH.ListChangesRequest(parent=t.parent), metadata=t.metadata
    ),
    "ChangeService.WatchChanges": _first_event,
    "TokenService.CreateAccessToken": lambda t: t.stubs.tokens.CreateAccessToken(
        token_service_pb2.CreateAccessTokenRequest(client_id=t.client_id), metadata=t.metadata
    ),
}

# The scope each RPC needs, and whether only a platform credential may call it.
# An access token is for a tenant's client, whatever its scopes: CLIENT.
READ, WRITE, WATCH, ADMIN = "read", "write", "watch", "admin"
PLATFORM, CLIENT = "platform", "client"
NEEDS: dict[str, tuple[str, ...]] = {
    **{f"UserService.{m}": (READ,) for m in ("GetUser", "ListUsers", "BatchGetUsers")},
    **{
        f"UserService.{m}User": (WRITE,)
        for m in ("Create", "Update", "Delete", "Undelete", "Deactivate", "Reactivate")
    },
    **{
        f"GroupService.{m}": (READ,)
        for m in ("GetGroup", "ListGroups", "BatchGetGroups", "ListMembers", "ListMemberships")
    },
    **{
        f"GroupService.{m}": (WRITE,)
        for m in (
            "CreateGroup",
            "UpdateGroup",
            "DeleteGroup",
            "UndeleteGroup",
            "AddMembers",
            "RemoveMembers",
            "ReplaceMembers",
            "ModifyGroup",
        )
    },
    **{
        f"CredentialService.{m}Credential{s}": (ADMIN,)
        for m, s in (("Create", ""), ("Get", ""), ("List", "s"), ("Revoke", ""))
    },
    "TenantService.GetTenant": (ADMIN,),
    **{
        f"TenantService.{m}": (ADMIN, PLATFORM)
        for m in ("CreateTenant", "ListTenants", "SuspendTenant", "ResumeTenant")
    },
    "ChangeService.ListChanges": (WATCH,),
    "ChangeService.WatchChanges": (WATCH,),
    "TokenService.CreateAccessToken": (CLIENT,),
}
# "scim" is an IdP's credential: read and write (README "Operating it").
GRANTS = {"read": {READ}, "write": {WRITE}, "scim": {READ, WRITE}, "watch": {WATCH}}
GRANTS["admin"] = {ADMIN}
HOLDERS = [(kind, scope) for kind in ("tenant", "platform") for scope in GRANTS]


Refusal = tuple[grpc.StatusCode, str, dict[str, str]]


def expected_refusal(rpc: str, kind: str, scope: str) -> Refusal | None:
    """The status, ErrorInfo reason and metadata of the refusal, or None
    when the call is allowed."""
    scope_needed, *platform = NEEDS[rpc]
    denied = grpc.StatusCode.PERMISSION_DENIED, "MISSING_SCOPE"
    if scope_needed == CLIENT:
        # A platform credential is no tenant's client (proto: CreateAccessToken).
        return (
            (grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIAL", {})
            if kind != "tenant"
            else None
        )
    if scope_needed not in GRANTS[scope]:
        return (*denied, {"required_scope": scope_needed})
    if platform and kind == "tenant":
        return (*denied, {"required_scope": scope_needed, "required_credential": PLATFORM})
    return None


def test_every_rpc_is_in_the_scope_matrix() -> None:
    """A new RPC of identity.v1 cannot escape the matrix: each has a call and a rule."""
    assert sorted(CALLS) == every_rpc()
    assert sorted(NEEDS) == every_rpc()


@pytest.fixture
def owner(db: Database, tenant: TenantAccess) -> Metadata:
    return bearer(new_credential(db, tenant.slug, ("scim", "admin", "watch")))


@pytest.mark.parametrize(("kind", "scope"), HOLDERS, ids=[f"{k}-{s}" for k, s in HOLDERS])
@pytest.mark.parametrize("rpc", sorted(CALLS))
def test_a_credential_may_call_only_what_its_scope_allows(
    db: Database,
    stubs: Stubs,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
    owner: Metadata,
    rpc: str,
    kind: str,
    scope: str,
) -> None:
    """Allowed, or PERMISSION_DENIED MISSING_SCOPE naming what is missing, and nothing changed."""
    credential, secret = Credentials(db).create(
        OPERATOR, tenant.slug if kind == "tenant" else None, scopes=(scope,)
    )
    target = Target(stubs, change_stub, tenant.slug, owner, bearer(secret), credential.id)
    refusal = expected_refusal(rpc, kind, scope)
    if refusal is None:
        CALLS[rpc](target)
        return
    before = target.prepared_log()
    with pytest.raises(grpc.RpcError) as raised:
        CALLS[rpc](target)
    info = error_info(raised.value)
    assert (raised.value.code(), info.reason, dict(info.metadata)) == refusal
    assert target.log() == before
