"""Tenant isolation: a matrix of every identity.v1 RPC called with tenant
A's credential (every tenant scope) on tenant B's names, ids, unique values,
request ids, page tokens and cursors. Each answer must be exactly what
values that exist nowhere get (the same code, message, ErrorInfo reason and
metadata, with the values themselves blanked out), and B's data and change
log must be unchanged afterwards (DESIGN.md "Tenancy")."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from identity.v1 import (
    change_service_pb2_grpc,
    credential_pb2,
    group_pb2,
    tenant_service_pb2,
    user_pb2,
)

from identity_service.store.engine import Database
from tests.helpers import Metadata, Stubs, TenantAccess, bearer, new_credential
from tests.isolation import (
    ALL_TENANT_SCOPES,
    C,
    Caller,
    G,
    Ids,
    Names,
    U,
    every_rpc,
    outcome,
    populate,
    snapshot,
)
from tests.isolation_cases import CASES

ChangeStub = change_service_pb2_grpc.ChangeServiceStub

NOT_FOUND = ("NOT_FOUND", "NOT_FOUND")
INVALID_FIELD = ("INVALID_ARGUMENT", "INVALID_FIELD")
INVALID_MEMBER = ("INVALID_ARGUMENT", "INVALID_MEMBER")
MISSING_SCOPE = ("PERMISSION_DENIED", "MISSING_SCOPE")
INVALID_CREDENTIAL = ("UNAUTHENTICATED", "INVALID_CREDENTIAL")
INVALID_PAGE_TOKEN = ("INVALID_ARGUMENT", "INVALID_PAGE_TOKEN")
OK = ("OK", "")
# Forms of B's names: under B's slug ("theirs"), under A's own slug ("ours"),
# and under "-", the caller's own tenant ("alias").
EVERY_FORM = {"theirs": NOT_FOUND, "ours": NOT_FOUND, "alias": NOT_FOUND}
MEMBER_FORMS = {"theirs": INVALID_FIELD, "ours": INVALID_MEMBER, "alias": INVALID_MEMBER}
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "GetUser": EVERY_FORM,
    "GetUser deleted": EVERY_FORM,
    "ListUsers": {"theirs": NOT_FOUND},
    "ListUsers own, filter id": {"theirs": OK},
    "ListUsers own, filter deleted id": {"theirs": OK},
    "ListUsers own, filter userName": {"theirs": OK},
    "ListUsers own, filter groups": {"theirs": OK},
    "ListUsers own, filter externalId": {"theirs": OK},
    "BatchGetUsers": EVERY_FORM,
    "BatchGetUsers own parent": {"theirs": INVALID_FIELD, "ours": NOT_FOUND, "alias": NOT_FOUND},
    "CreateUser": {"theirs": NOT_FOUND},
    "UpdateUser": EVERY_FORM,
    "DeleteUser": EVERY_FORM,
    "UndeleteUser": EVERY_FORM,
    "DeactivateUser": EVERY_FORM,
    "ReactivateUser": EVERY_FORM,
    "GetGroup": EVERY_FORM,
    "GetGroup deleted": EVERY_FORM,
    "ListGroups": {"theirs": NOT_FOUND},
    "ListGroups own, filter id": {"theirs": OK},
    "ListGroups own, filter displayName": {"theirs": OK},
    "ListGroups own, filter member": {"theirs": OK},
    "BatchGetGroups": EVERY_FORM,
    "BatchGetGroups own parent": {"theirs": INVALID_FIELD, "ours": NOT_FOUND, "alias": NOT_FOUND},
    "CreateGroup": {"theirs": NOT_FOUND},
    "CreateGroup own, their user as member": MEMBER_FORMS,
    "UpdateGroup": EVERY_FORM,
    "DeleteGroup": EVERY_FORM,
    "UndeleteGroup": EVERY_FORM,
    "AddMembers their group": EVERY_FORM,
    "AddMembers own group, their user": MEMBER_FORMS,
    "AddMembers own group, their group": MEMBER_FORMS,
    "AddMembers '-' group, their user": MEMBER_FORMS,
    "RemoveMembers their group": EVERY_FORM,
    # Removing an absent member is a no-op; a name under another tenant is
    # not a member name of this group at all.
    "RemoveMembers own group, their user": {"theirs": INVALID_FIELD, "ours": OK, "alias": OK},
    "ReplaceMembers their group": EVERY_FORM,
    "ReplaceMembers own group, their user": MEMBER_FORMS,
    "ListMembers": EVERY_FORM,
    "ListMemberships of user": EVERY_FORM,
    "ListMemberships of group": EVERY_FORM,
    "GetCredential": EVERY_FORM,
    "GetCredential platform name": {"theirs": NOT_FOUND},
    "RevokeCredential": EVERY_FORM,
    "RevokeCredential platform name": {"theirs": NOT_FOUND},
    "ListCredentials": {"theirs": NOT_FOUND},
    # Platform credentials are no tenant's: a tenant admin neither lists nor creates them.
    "ListCredentials platform parent": {"theirs": NOT_FOUND},
    "CreateCredential platform parent": {"theirs": MISSING_SCOPE},
    "CreateCredential": {"theirs": NOT_FOUND},
    # A token only for the client itself: B's client_id is as unknown as none.
    "CreateAccessToken their client": {"theirs": INVALID_CREDENTIAL},
    "GetTenant": {"theirs": NOT_FOUND},
    # Only a platform credential manages tenants, whichever tenant is named.
    "SuspendTenant": {"theirs": MISSING_SCOPE},
    "ResumeTenant": {"theirs": MISSING_SCOPE},
    "CreateTenant": {"theirs": MISSING_SCOPE},
    "ListTenants": {"theirs": MISSING_SCOPE},
    # Request ids are per tenant: B's replays nothing for A.
    "CreateUser own, their request_id": {"theirs": OK},
    # Page tokens and cursors are bound to their tenant (and query).
    "ListUsers own, their page token": {"theirs": INVALID_PAGE_TOKEN},
    "ListUsers '-', their page token": {"theirs": INVALID_PAGE_TOKEN},
    "ListGroups own, their page token": {"theirs": INVALID_PAGE_TOKEN},
    "ListGroups '-', their page token": {"theirs": INVALID_PAGE_TOKEN},
    "ListMembers their page token": EVERY_FORM,
    "ListCredentials own, their page token": {"theirs": INVALID_PAGE_TOKEN},
    "ListChanges": {"theirs": NOT_FOUND},
    "ListChanges own, their cursor": {"theirs": INVALID_FIELD},
    "ListChanges own, their page token": {"theirs": INVALID_PAGE_TOKEN},
    "WatchChanges": {"theirs": NOT_FOUND},
    "WatchChanges own, their cursor": {"theirs": INVALID_FIELD},
    "WatchChanges '-', their cursor": {"theirs": INVALID_FIELD},
    "UpdateUser their etag": EVERY_FORM,
    "DeleteUser their etag": EVERY_FORM,
    "DeactivateUser their etag": EVERY_FORM,
    "DeleteGroup their etag": EVERY_FORM,
    "ModifyGroup their etag": EVERY_FORM,
    "ModifyGroup their group": EVERY_FORM,
    "ModifyGroup their group, members": EVERY_FORM,
    "ModifyGroup own group, add their user": MEMBER_FORMS,
    "ModifyGroup own group, replace with their group": MEMBER_FORMS,
    "ModifyGroup own group, remove their user": {"theirs": INVALID_FIELD, "ours": OK, "alias": OK},
}
MATRIX = [
    pytest.param(case, form, expected, id=f"{case}-{form}")
    for case, forms in EXPECTED.items()
    for form, expected in forms.items()
]


@dataclass(frozen=True)
class World:
    a: Caller
    a_slug: str
    b: Caller
    b_slug: str
    b_ids: Ids


def _caller(db: Database, stubs: Stubs, changes: ChangeStub, access: TenantAccess) -> Caller:
    metadata = bearer(new_credential(db, access.slug, ALL_TENANT_SCOPES))
    return Caller(stubs, changes, metadata, access.parent, "")


@pytest.fixture
def world(
    db: Database,
    stubs: Stubs,
    change_stub: ChangeStub,
    tenant: TenantAccess,
    other_tenant: TenantAccess,
) -> World:
    """Tenant A with a group of its own; tenant B with live, deactivated and
    deleted users, nested groups, a deleted group, a spare credential, and
    a first page of each of its lists."""
    a = _caller(db, stubs, change_stub, tenant)
    a_group = stubs.groups.CreateGroup(
        G.CreateGroupRequest(parent=tenant.parent, group=group_pb2.Group(display_name="A's")),
        metadata=a.metadata,
    )
    b = _caller(db, stubs, change_stub, other_tenant)
    return World(replace(a, group=a_group.name), tenant.slug, b, other_tenant.slug, populate(b))


def test_every_rpc_has_a_case() -> None:
    """A new RPC of identity.v1 cannot escape the isolation matrix."""
    tried = {case.split()[0] for case in EXPECTED}
    assert [rpc for rpc in every_rpc() if rpc.split(".")[1] not in tried] == []
    assert set(EXPECTED) == set(CASES)


@pytest.mark.parametrize(("case", "form", "expected"), MATRIX)
def test_another_tenants_resources_are_indistinguishable_from_missing_ones(
    world: World, case: str, form: str, expected: tuple[str, str]
) -> None:
    """A's credential on B's values gets what missing values get, and B stays unchanged."""
    slug = {"theirs": world.b_slug, "ours": world.a_slug, "alias": "-"}[form]
    missing_slug = f"t-{uuid.uuid4().hex[:12]}" if form == "theirs" else slug
    before = snapshot(world.b, world.b_ids)
    call = CASES[case]
    missing, theirs = Names(missing_slug, Ids.missing()), Names(slug, world.b_ids)
    with_missing = outcome(lambda: call(world.a, missing), missing)
    with_theirs = outcome(lambda: call(world.a, theirs), theirs)
    assert with_theirs == with_missing
    assert with_theirs[:2] == expected
    assert snapshot(world.b, world.b_ids) == before


# Cases that no tenant credential can pass, B's own included: platform names,
# tenant management, and a token asked for with another credential's secret.
_NO_TENANT_PASSES = {
    "CreateAccessToken their client",
    "GetCredential platform name",
    "RevokeCredential platform name",
    "SuspendTenant",
    "ResumeTenant",
    "CreateTenant",
    "ListTenants",
    "ListCredentials platform parent",
    "CreateCredential platform parent",
}


@pytest.mark.parametrize("case", sorted(set(CASES) - _NO_TENANT_PASSES))
def test_each_case_succeeds_for_tenant_b_itself(world: World, case: str) -> None:
    """B's own credential succeeds on the same names, so A's refusals come from tenancy alone."""
    b_group = world.b.stubs.groups.CreateGroup(
        G.CreateGroupRequest(parent=world.b.parent, group=group_pb2.Group(display_name="B's")),
        metadata=world.b.metadata,
    )
    b = replace(world.b, group=b_group.name)
    names = Names(world.b_slug, world.b_ids)
    assert outcome(lambda: CASES[case](b, names), names)[0] == "OK"


@pytest.mark.parametrize(
    "method",
    ["GetUser", "ListUsers", "CreateUser", "ListGroups", "ListCredentials", "CreateCredential"],
)
def test_tenants_dash_with_a_platform_credential_is_not_found(
    stubs: Stubs, platform_admin: Metadata, method: str
) -> None:
    """ "tenants/-" is the caller's own tenant; a platform credential has none: NOT_FOUND."""
    calls: dict[str, Callable[[], object]] = {
        "GetUser": lambda: stubs.users.GetUser(
            U.GetUserRequest(name=f"tenants/-/users/{uuid.uuid4()}"), metadata=platform_admin
        ),
        "ListUsers": lambda: stubs.users.ListUsers(
            U.ListUsersRequest(parent="tenants/-"), metadata=platform_admin
        ),
        "CreateUser": lambda: stubs.users.CreateUser(
            U.CreateUserRequest(parent="tenants/-", user=user_pb2.User(user_name="x")),
            metadata=platform_admin,
        ),
        "ListGroups": lambda: stubs.groups.ListGroups(
            G.ListGroupsRequest(parent="tenants/-"), metadata=platform_admin
        ),
        "ListCredentials": lambda: stubs.credentials.ListCredentials(
            C.ListCredentialsRequest(parent="tenants/-"), metadata=platform_admin
        ),
        "CreateCredential": lambda: stubs.credentials.CreateCredential(
            C.CreateCredentialRequest(
                parent="tenants/-", credential=credential_pb2.Credential(scopes=["read"])
            ),
            metadata=platform_admin,
        ),
    }
    assert outcome(calls[method], Names("-", Ids.missing()))[:2] == NOT_FOUND


SUSPENDED_CASES = [
    "GetUser",
    "ListUsers",
    "UpdateUser",
    "GetGroup",
    "AddMembers own group, their user",
    "GetCredential",
    "GetTenant",
    "ListChanges",
    "WatchChanges",
]


@pytest.mark.parametrize("case", SUSPENDED_CASES)
def test_a_suspended_tenant_is_as_missing_as_an_active_one(
    world: World, stubs: Stubs, platform_admin: Metadata, case: str
) -> None:
    """A learns nothing of B's state either: no TENANT_SUSPENDED about another tenant."""
    stubs.tenants.SuspendTenant(
        tenant_service_pb2.SuspendTenantRequest(name=world.b.parent), metadata=platform_admin
    )
    missing = Names(f"t-{uuid.uuid4().hex[:12]}", Ids.missing())
    theirs = Names(world.b_slug, world.b_ids)
    call = CASES[case]
    with_missing = outcome(lambda: call(world.a, missing), missing)
    with_theirs = outcome(lambda: call(world.a, theirs), theirs)
    assert with_theirs == with_missing
    assert with_theirs[:2] == EXPECTED[case]["theirs"]
