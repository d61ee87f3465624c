"""Tenant isolation: a matrix of every RPC of UserService, GroupService and
CredentialService called with tenant A's credential on tenant B's names and
ids. Each answer must be exactly what a nonexistent id gets (NOT_FOUND, or
INVALID_ARGUMENT where a member name is invalid), and B's data must be
unchanged afterwards (DESIGN.md "Tenancy")."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import grpc
import pytest
from google.protobuf import field_mask_pb2
from identity.v1 import (
    credential_pb2,
    credential_service_pb2,
    group_pb2,
    group_service_pb2,
    tenant_service_pb2,
    user_pb2,
    user_service_pb2,
)

from identity_service.store.engine import Database
from tests.helpers import Metadata, Stubs, TenantAccess, error_info, new_credential


def bearer(secret: str) -> Metadata:
    return (("authorization", f"Bearer {secret}"),)


@dataclass(frozen=True)
class Ids:
    """The ids (and unique values) of tenant B's resources."""

    user: str
    deactivated_user: str
    deleted_user: str
    group: str
    member_group: str
    deleted_group: str
    credential: str
    user_name: str
    external_id: str
    group_name: str

    @staticmethod
    def missing() -> "Ids":
        """Ids of the same shapes that exist nowhere."""
        user, deactivated, deleted, group, member_group, deleted_group = (
            str(uuid.uuid4()) for _ in range(6)
        )
        return Ids(
            user=user,
            deactivated_user=deactivated,
            deleted_user=deleted,
            group=group,
            member_group=member_group,
            deleted_group=deleted_group,
            credential=uuid.uuid4().hex,
            user_name=f"nobody-{uuid.uuid4().hex}",
            external_id=uuid.uuid4().hex,
            group_name=f"no group {uuid.uuid4().hex}",
        )


@dataclass(frozen=True)
class Names:
    """Resource names for `ids` under the tenant segment `slug`: B's slug,
    A's own slug, or "-" (the caller's tenant)."""

    slug: str
    ids: Ids

    @property
    def parent(self) -> str:
        return f"tenants/{self.slug}"

    def user(self, which: str = "user") -> str:
        return f"{self.parent}/users/{getattr(self.ids, which)}"

    def group(self, which: str = "group") -> str:
        return f"{self.parent}/groups/{getattr(self.ids, which)}"

    def credential(self) -> str:
        return f"{self.parent}/credentials/{self.ids.credential}"


@dataclass(frozen=True)
class Caller:
    """Tenant A: its credential (scim and admin) and a group of its own."""

    stubs: Stubs
    metadata: Metadata
    parent: str
    group: str


# A case calls one RPC as tenant A on names of B (or of nothing) and returns
# a summary of a successful answer; errors are caught by the runner.
Case = Callable[[Caller, Names], object]


def _mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def _list_users(a: Caller, flt: str) -> object:
    answer = a.stubs.users.ListUsers(
        user_service_pb2.ListUsersRequest(parent=a.parent, filter=flt, show_deleted=True),
        metadata=a.metadata,
    )
    return answer.total_size, len(answer.users)


def _list_groups(a: Caller, flt: str) -> object:
    answer = a.stubs.groups.ListGroups(
        group_service_pb2.ListGroupsRequest(parent=a.parent, filter=flt, show_deleted=True),
        metadata=a.metadata,
    )
    return answer.total_size, len(answer.groups)


def _own_group(a: Caller) -> object:
    group = a.stubs.groups.GetGroup(
        group_service_pb2.GetGroupRequest(name=a.group), metadata=a.metadata
    )
    return group.member_count, group.etag


U = user_service_pb2
G = group_service_pb2
C = credential_service_pb2
CASES: dict[str, Case] = {
    # UserService
    "GetUser": lambda a, n: a.stubs.users.GetUser(
        U.GetUserRequest(name=n.user()), metadata=a.metadata
    ),
    "GetUser deleted": lambda a, n: a.stubs.users.GetUser(
        U.GetUserRequest(name=n.user("deleted_user"), show_deleted=True), metadata=a.metadata
    ),
    "ListUsers": lambda a, n: a.stubs.users.ListUsers(
        U.ListUsersRequest(parent=n.parent), metadata=a.metadata
    ),
    "ListUsers own, filter id": lambda a, n: _list_users(a, f'id eq "{n.ids.user}"'),
    "ListUsers own, filter deleted id": lambda a, n: _list_users(
        a, f'id eq "{n.ids.deleted_user}"'
    ),
    "ListUsers own, filter userName": lambda a, n: _list_users(
        a, f'userName eq "{n.ids.user_name}"'
    ),
    "ListUsers own, filter externalId": lambda a, n: _list_users(
        a, f'externalId eq "{n.ids.external_id}"'
    ),
    "BatchGetUsers": lambda a, n: a.stubs.users.BatchGetUsers(
        U.BatchGetUsersRequest(parent=n.parent, names=[n.user()]), metadata=a.metadata
    ),
    "BatchGetUsers own parent": lambda a, n: a.stubs.users.BatchGetUsers(
        U.BatchGetUsersRequest(parent=a.parent, names=[n.user()]), metadata=a.metadata
    ),
    "CreateUser": lambda a, n: a.stubs.users.CreateUser(
        U.CreateUserRequest(parent=n.parent, user=user_pb2.User(user_name="intruder")),
        metadata=a.metadata,
    ),
    "UpdateUser": lambda a, n: a.stubs.users.UpdateUser(
        U.UpdateUserRequest(
            user=user_pb2.User(name=n.user(), display_name="changed by A"),
            update_mask=_mask("display_name"),
        ),
        metadata=a.metadata,
    ),
    "DeleteUser": lambda a, n: a.stubs.users.DeleteUser(
        U.DeleteUserRequest(name=n.user()), metadata=a.metadata
    ),
    "UndeleteUser": lambda a, n: a.stubs.users.UndeleteUser(
        U.UndeleteUserRequest(name=n.user("deleted_user")), metadata=a.metadata
    ),
    "DeactivateUser": lambda a, n: a.stubs.users.DeactivateUser(
        U.DeactivateUserRequest(name=n.user()), metadata=a.metadata
    ),
    "ReactivateUser": lambda a, n: a.stubs.users.ReactivateUser(
        U.ReactivateUserRequest(name=n.user("deactivated_user")), metadata=a.metadata
    ),
    # GroupService
    "GetGroup": lambda a, n: a.stubs.groups.GetGroup(
        G.GetGroupRequest(name=n.group()), metadata=a.metadata
    ),
    "GetGroup deleted": lambda a, n: a.stubs.groups.GetGroup(
        G.GetGroupRequest(name=n.group("deleted_group"), show_deleted=True), metadata=a.metadata
    ),
    "ListGroups": lambda a, n: a.stubs.groups.ListGroups(
        G.ListGroupsRequest(parent=n.parent), metadata=a.metadata
    ),
    "ListGroups own, filter id": lambda a, n: _list_groups(a, f'id eq "{n.ids.group}"'),
    "ListGroups own, filter displayName": lambda a, n: _list_groups(
        a, f'displayName eq "{n.ids.group_name}"'
    ),
    "ListGroups own, filter member": lambda a, n: _list_groups(
        a, f'members[value eq "{n.ids.user}"]'
    ),
    "BatchGetGroups": lambda a, n: a.stubs.groups.BatchGetGroups(
        G.BatchGetGroupsRequest(parent=n.parent, names=[n.group()]), metadata=a.metadata
    ),
    "BatchGetGroups own parent": lambda a, n: a.stubs.groups.BatchGetGroups(
        G.BatchGetGroupsRequest(parent=a.parent, names=[n.group()]), metadata=a.metadata
    ),
    "CreateGroup": lambda a, n: a.stubs.groups.CreateGroup(
        G.CreateGroupRequest(parent=n.parent, group=group_pb2.Group(display_name="intruders")),
        metadata=a.metadata,
    ),
    "CreateGroup own, their user as member": lambda a, n: a.stubs.groups.CreateGroup(
        G.CreateGroupRequest(
            parent=a.parent, group=group_pb2.Group(display_name="mine"), members=[n.user()]
        ),
        metadata=a.metadata,
    ),
    "UpdateGroup": lambda a, n: a.stubs.groups.UpdateGroup(
        G.UpdateGroupRequest(
            group=group_pb2.Group(name=n.group(), display_name="changed by A"),
            update_mask=_mask("display_name"),
        ),
        metadata=a.metadata,
    ),
    "DeleteGroup": lambda a, n: a.stubs.groups.DeleteGroup(
        G.DeleteGroupRequest(name=n.group()), metadata=a.metadata
    ),
    "UndeleteGroup": lambda a, n: a.stubs.groups.UndeleteGroup(
        G.UndeleteGroupRequest(name=n.group("deleted_group")), metadata=a.metadata
    ),
    "AddMembers their group": lambda a, n: a.stubs.groups.AddMembers(
        G.AddMembersRequest(group=n.group(), members=[n.user("deactivated_user")]),
        metadata=a.metadata,
    ),
    "AddMembers own group, their user": lambda a, n: a.stubs.groups.AddMembers(
        G.AddMembersRequest(group=a.group, members=[n.user()]), metadata=a.metadata
    ),
    "AddMembers own group, their group": lambda a, n: a.stubs.groups.AddMembers(
        G.AddMembersRequest(group=a.group, members=[n.group()]), metadata=a.metadata
    ),
    "AddMembers '-' group, their user": lambda a, n: a.stubs.groups.AddMembers(
        G.AddMembersRequest(group=a.group.replace(a.parent, "tenants/-"), members=[n.user()]),
        metadata=a.metadata,
    ),
    "RemoveMembers their group": lambda a, n: a.stubs.groups.RemoveMembers(
        G.RemoveMembersRequest(group=n.group(), members=[n.user()]), metadata=a.metadata
    ),
    "RemoveMembers own group, their user": lambda a, n: (
        a.stubs.groups.RemoveMembers(
            G.RemoveMembersRequest(group=a.group, members=[n.user()]), metadata=a.metadata
        ),
        _own_group(a),
    )[1],
    "ReplaceMembers their group": lambda a, n: a.stubs.groups.ReplaceMembers(
        G.ReplaceMembersRequest(group=n.group(), members=[]), metadata=a.metadata
    ),
    "ReplaceMembers own group, their user": lambda a, n: a.stubs.groups.ReplaceMembers(
        G.ReplaceMembersRequest(group=a.group, members=[n.user()]), metadata=a.metadata
    ),
    "ListMembers": lambda a, n: a.stubs.groups.ListMembers(
        G.ListMembersRequest(parent=n.group()), metadata=a.metadata
    ),
    "ListMemberships of user": lambda a, n: a.stubs.groups.ListMemberships(
        G.ListMembershipsRequest(member=n.user(), transitive=True), metadata=a.metadata
    ),
    "ListMemberships of group": lambda a, n: a.stubs.groups.ListMemberships(
        G.ListMembershipsRequest(member=n.group("member_group")), metadata=a.metadata
    ),
    # CredentialService
    "GetCredential": lambda a, n: a.stubs.credentials.GetCredential(
        C.GetCredentialRequest(name=n.credential()), metadata=a.metadata
    ),
    "GetCredential platform name": lambda a, n: a.stubs.credentials.GetCredential(
        C.GetCredentialRequest(name=f"credentials/{n.ids.credential}"), metadata=a.metadata
    ),
    "RevokeCredential": lambda a, n: a.stubs.credentials.RevokeCredential(
        C.RevokeCredentialRequest(name=n.credential()), metadata=a.metadata
    ),
    "RevokeCredential platform name": lambda a, n: a.stubs.credentials.RevokeCredential(
        C.RevokeCredentialRequest(name=f"credentials/{n.ids.credential}"), metadata=a.metadata
    ),
    "ListCredentials": lambda a, n: a.stubs.credentials.ListCredentials(
        C.ListCredentialsRequest(parent=n.parent, show_revoked=True), metadata=a.metadata
    ),
    "CreateCredential": lambda a, n: a.stubs.credentials.CreateCredential(
        C.CreateCredentialRequest(
            parent=n.parent, credential=credential_pb2.Credential(scopes=["admin"])
        ),
        metadata=a.metadata,
    ),
    # TenantService
    "GetTenant": lambda a, n: a.stubs.tenants.GetTenant(
        tenant_service_pb2.GetTenantRequest(name=n.parent), metadata=a.metadata
    ),
    "SuspendTenant": lambda a, n: a.stubs.tenants.SuspendTenant(
        tenant_service_pb2.SuspendTenantRequest(name=n.parent), metadata=a.metadata
    ),
}

NOT_FOUND = ("NOT_FOUND", "NOT_FOUND")
INVALID_FIELD = ("INVALID_ARGUMENT", "INVALID_FIELD")
INVALID_MEMBER = ("INVALID_ARGUMENT", "INVALID_MEMBER")
MISSING_SCOPE = ("PERMISSION_DENIED", "MISSING_SCOPE")
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
    "CreateCredential": {"theirs": NOT_FOUND},
    "GetTenant": {"theirs": NOT_FOUND},
    # Only a platform credential manages tenants, whichever tenant is named.
    "SuspendTenant": {"theirs": MISSING_SCOPE},
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


def _create_user(b: Caller, user_name: str, external_id: str = "") -> str:
    user = b.stubs.users.CreateUser(
        U.CreateUserRequest(
            parent=b.parent,
            user=user_pb2.User(user_name=user_name, external_id=external_id, display_name="B"),
        ),
        metadata=b.metadata,
    )
    return user.id


def _create_group(b: Caller, display_name: str, members: list[str]) -> str:
    group = b.stubs.groups.CreateGroup(
        G.CreateGroupRequest(
            parent=b.parent, group=group_pb2.Group(display_name=display_name), members=members
        ),
        metadata=b.metadata,
    )
    return group.id


@pytest.fixture
def world(db: Database, stubs: Stubs, tenant: TenantAccess, other_tenant: TenantAccess) -> World:
    """Tenant A with a group of its own; tenant B with live, deactivated and
    deleted users, nested groups, a deleted group and a spare credential."""
    a_metadata = bearer(new_credential(db, tenant.slug, ("scim", "admin")))
    a_group = stubs.groups.CreateGroup(
        G.CreateGroupRequest(parent=tenant.parent, group=group_pb2.Group(display_name="A's")),
        metadata=a_metadata,
    )
    a = Caller(stubs, a_metadata, tenant.parent, a_group.name)
    b_metadata = bearer(new_credential(db, other_tenant.slug, ("scim", "admin")))
    b = Caller(stubs, b_metadata, other_tenant.parent, "")
    user = _create_user(b, "bjensen", "ext-bjensen")
    deactivated = _create_user(b, "jsmith")
    stubs.users.DeactivateUser(
        U.DeactivateUserRequest(name=f"{b.parent}/users/{deactivated}"), metadata=b_metadata
    )
    deleted = _create_user(b, "gone")
    stubs.users.DeleteUser(
        U.DeleteUserRequest(name=f"{b.parent}/users/{deleted}"), metadata=b_metadata
    )
    member_group = _create_group(b, "Inner", [f"{b.parent}/users/{user}"])
    group = _create_group(
        b, "Outer", [f"{b.parent}/users/{user}", f"{b.parent}/groups/{member_group}"]
    )
    deleted_group = _create_group(b, "Old", [])
    stubs.groups.DeleteGroup(
        G.DeleteGroupRequest(name=f"{b.parent}/groups/{deleted_group}"), metadata=b_metadata
    )
    credential = stubs.credentials.CreateCredential(
        C.CreateCredentialRequest(
            parent=b.parent, credential=credential_pb2.Credential(scopes=["read"])
        ),
        metadata=b_metadata,
    ).credential
    ids = Ids(
        user=user,
        deactivated_user=deactivated,
        deleted_user=deleted,
        group=group,
        member_group=member_group,
        deleted_group=deleted_group,
        credential=credential.name.rsplit("/", 1)[1],
        user_name="bjensen",
        external_id="ext-bjensen",
        group_name="Outer",
    )
    return World(a, tenant.slug, b, other_tenant.slug, ids)


def snapshot(b: Caller, ids: Ids) -> tuple[object, ...]:
    """Everything of tenant B that A's calls could touch, read with B's own
    credential (credentials without last_use_time, which B's reads move)."""
    stubs, md = b.stubs, b.metadata
    users_ = stubs.users.ListUsers(
        U.ListUsersRequest(parent=b.parent, show_deleted=True), metadata=md
    )
    groups_ = stubs.groups.ListGroups(
        G.ListGroupsRequest(parent=b.parent, show_deleted=True), metadata=md
    )
    members = [
        stubs.groups.ListMembers(G.ListMembersRequest(parent=f"{b.parent}/groups/{g}"), metadata=md)
        for g in (ids.group, ids.member_group)
    ]
    memberships = stubs.groups.ListMemberships(
        G.ListMembershipsRequest(member=f"{b.parent}/users/{ids.user}", transitive=True),
        metadata=md,
    )
    credentials = stubs.credentials.ListCredentials(
        C.ListCredentialsRequest(parent=b.parent, show_revoked=True), metadata=md
    ).credentials
    for credential in credentials:
        credential.ClearField("last_use_time")
    tenant = stubs.tenants.GetTenant(
        tenant_service_pb2.GetTenantRequest(name=b.parent), metadata=md
    )
    return (users_, groups_, *members, memberships, list(credentials), tenant)


def outcome(call: Callable[[], object]) -> tuple[str, object]:
    """("OK", summary) for an answer; (code, ErrorInfo reason) for an error."""
    try:
        answer = call()
    except grpc.RpcError as error:
        return error.code().name, error_info(error).reason
    # A successful call must mean the same with real and with missing ids: a
    # list summary or A's own group (never B's data, which would differ).
    return "OK", answer if isinstance(answer, tuple) else type(answer).__name__


@pytest.mark.parametrize(("case", "form", "expected"), MATRIX)
def test_another_tenants_resources_are_indistinguishable_from_missing_ones(
    world: World, case: str, form: str, expected: tuple[str, str]
) -> None:
    """A's credential on B's names gets what a missing id gets, and B stays unchanged."""
    slug = {"theirs": world.b_slug, "ours": world.a_slug, "alias": "-"}[form]
    missing_slug = f"t-{uuid.uuid4().hex[:12]}" if form == "theirs" else slug
    before = snapshot(world.b, world.b_ids)
    call = CASES[case]
    with_missing = outcome(lambda: call(world.a, Names(missing_slug, Ids.missing())))
    with_theirs = outcome(lambda: call(world.a, Names(slug, world.b_ids)))
    assert with_theirs == with_missing
    if expected == OK:
        assert with_theirs[0] == "OK"
    else:
        assert with_theirs == expected
    assert snapshot(world.b, world.b_ids) == before


# Cases that no tenant credential can pass, B's own included: platform names
# and tenant management.
_PLATFORM_ONLY = {"GetCredential platform name", "RevokeCredential platform name", "SuspendTenant"}


@pytest.mark.parametrize("case", sorted(set(CASES) - _PLATFORM_ONLY))
def test_each_case_succeeds_for_tenant_b_itself(world: World, case: str) -> None:
    """B's own credential succeeds on the same names, so A's refusals come from tenancy alone."""
    b_group = world.b.stubs.groups.CreateGroup(
        G.CreateGroupRequest(parent=world.b.parent, group=group_pb2.Group(display_name="B's")),
        metadata=world.b.metadata,
    )
    b = replace(world.b, group=b_group.name)
    assert outcome(lambda: CASES[case](b, Names(world.b_slug, world.b_ids)))[0] == "OK"


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
    assert outcome(calls[method]) == NOT_FOUND


@pytest.mark.parametrize("parent", ["own", "tenants/-"])
@pytest.mark.parametrize("collection", ["users", "groups"])
def test_a_page_token_of_another_tenant_is_invalid(
    stubs: Stubs, tenant: TenantAccess, other_tenant: TenantAccess, parent: str, collection: str
) -> None:
    """Tenant B's page token used by tenant A is INVALID_PAGE_TOKEN, not B's next page."""
    for name in ("one", "two"):
        if collection == "users":
            _create_user(Caller(stubs, other_tenant.metadata, other_tenant.parent, ""), name)
        else:
            _create_group(Caller(stubs, other_tenant.metadata, other_tenant.parent, ""), name, [])
    a_parent = tenant.parent if parent == "own" else parent

    def page(parent: str, metadata: Metadata, token: str = "") -> str:
        if collection == "users":
            return stubs.users.ListUsers(
                U.ListUsersRequest(parent=parent, page_size=1, page_token=token),
                metadata=metadata,
            ).next_page_token
        return stubs.groups.ListGroups(
            G.ListGroupsRequest(parent=parent, page_size=1, page_token=token), metadata=metadata
        ).next_page_token

    token = page(other_tenant.parent, other_tenant.metadata)
    assert token
    assert outcome(lambda: page(a_parent, tenant.metadata, token)) == (
        "INVALID_ARGUMENT",
        "INVALID_PAGE_TOKEN",
    )
