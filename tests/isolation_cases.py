"""The isolation matrix's cases: each calls one identity.v1 RPC as tenant A
with values of tenant B (or values that exist nowhere) and returns a summary
of a successful answer; errors are caught by the runner. A case is named
after its RPC, then what it tries."""

from collections.abc import Callable

from google.protobuf import field_mask_pb2
from identity.v1 import (
    credential_pb2,
    group_pb2,
    tenant_service_pb2,
    token_service_pb2,
    user_pb2,
)

from tests.isolation import CH, C, Caller, G, Names, U

Case = Callable[[Caller, Names], object]


def _mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def _list_users(a: Caller, flt: str) -> object:
    answer = a.stubs.users.ListUsers(
        U.ListUsersRequest(parent=a.parent, filter=flt, show_deleted=True),
        metadata=a.metadata,
    )
    return answer.total_size, len(answer.users)


def _list_groups(a: Caller, flt: str) -> object:
    answer = a.stubs.groups.ListGroups(
        G.ListGroupsRequest(parent=a.parent, filter=flt, show_deleted=True),
        metadata=a.metadata,
    )
    return answer.total_size, len(answer.groups)


def _own_group(a: Caller) -> object:
    group = a.stubs.groups.GetGroup(G.GetGroupRequest(name=a.group), metadata=a.metadata)
    return group.member_count, group.etag


def _first_event(a: Caller, request: CH.WatchChangesRequest) -> object:
    """The first event of a stream (a change or the backlog's checkpoint)."""
    stream = a.changes.WatchChanges(request, metadata=a.metadata, timeout=30)
    try:
        return next(iter(stream)).WhichOneof("event")
    finally:
        stream.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leaves it untyped


def _list_changes(a: Caller, parent: str, cursor: str = "", token: str = "") -> object:
    answer = a.changes.ListChanges(
        CH.ListChangesRequest(parent=parent, start_cursor=cursor, page_token=token, page_size=1),
        metadata=a.metadata,
    )
    return len(answer.changes) > 0


def _created_here(a: Caller, n: Names) -> object:
    """CreateUser in A with B's request_id and B's very request: a replay
    across tenants would answer B's user."""
    user = a.stubs.users.CreateUser(
        U.CreateUserRequest(
            parent=a.parent,
            user=user_pb2.User(
                user_name=n.ids.user_name, external_id=n.ids.external_id, display_name="B"
            ),
            request_id=n.ids.request_id,
        ),
        metadata=a.metadata,
    )
    return user.name.startswith(f"{a.parent}/"), user.user_name == n.ids.user_name


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
    "ListUsers own, filter groups": lambda a, n: _list_users(
        a, f'groups[value eq "{n.ids.group}"]'
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
    "ListCredentials platform parent": lambda a, n: a.stubs.credentials.ListCredentials(
        C.ListCredentialsRequest(parent=""), metadata=a.metadata
    ),
    "CreateCredential platform parent": lambda a, n: a.stubs.credentials.CreateCredential(
        C.CreateCredentialRequest(credential=credential_pb2.Credential(scopes=["admin"])),
        metadata=a.metadata,
    ),
    # TokenService: a token for B's client, asked with A's secret.
    "CreateAccessToken their client": lambda a, n: a.stubs.tokens.CreateAccessToken(
        token_service_pb2.CreateAccessTokenRequest(client_id=n.ids.credential), metadata=a.metadata
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
    "ResumeTenant": lambda a, n: a.stubs.tenants.ResumeTenant(
        tenant_service_pb2.ResumeTenantRequest(name=n.parent), metadata=a.metadata
    ),
    "CreateTenant": lambda a, n: a.stubs.tenants.CreateTenant(
        tenant_service_pb2.CreateTenantRequest(tenant_id=n.slug), metadata=a.metadata
    ),
    "ListTenants": lambda a, n: a.stubs.tenants.ListTenants(
        tenant_service_pb2.ListTenantsRequest(), metadata=a.metadata
    ),
    # Request ids, page tokens and cursors of B, on A's own resources
    "CreateUser own, their request_id": _created_here,
    "ListUsers own, their page token": lambda a, n: a.stubs.users.ListUsers(
        U.ListUsersRequest(parent=a.parent, page_size=1, page_token=n.ids.users_token),
        metadata=a.metadata,
    ),
    "ListUsers '-', their page token": lambda a, n: a.stubs.users.ListUsers(
        U.ListUsersRequest(parent="tenants/-", page_size=1, page_token=n.ids.users_token),
        metadata=a.metadata,
    ),
    "ListGroups own, their page token": lambda a, n: a.stubs.groups.ListGroups(
        G.ListGroupsRequest(parent=a.parent, page_size=1, page_token=n.ids.groups_token),
        metadata=a.metadata,
    ),
    "ListGroups '-', their page token": lambda a, n: a.stubs.groups.ListGroups(
        G.ListGroupsRequest(parent="tenants/-", page_size=1, page_token=n.ids.groups_token),
        metadata=a.metadata,
    ),
    "ListMembers their page token": lambda a, n: a.stubs.groups.ListMembers(
        G.ListMembersRequest(parent=n.group(), page_size=1, page_token=n.ids.members_token),
        metadata=a.metadata,
    ),
    "ListCredentials own, their page token": lambda a, n: a.stubs.credentials.ListCredentials(
        C.ListCredentialsRequest(parent=a.parent, page_size=1, page_token=n.ids.credentials_token),
        metadata=a.metadata,
    ),
    # ChangeService
    "ListChanges": lambda a, n: _list_changes(a, n.parent),
    "ListChanges own, their cursor": lambda a, n: _list_changes(a, a.parent, cursor=n.ids.cursor),
    "ListChanges own, their page token": lambda a, n: _list_changes(
        a, a.parent, token=n.ids.changes_token
    ),
    "WatchChanges": lambda a, n: _first_event(a, CH.WatchChangesRequest(parent=n.parent)),
    "WatchChanges own, their cursor": lambda a, n: _first_event(
        a, CH.WatchChangesRequest(parent=a.parent, start_cursor=n.ids.cursor)
    ),
    "WatchChanges '-', their cursor": lambda a, n: _first_event(
        a, CH.WatchChangesRequest(parent="tenants/-", start_cursor=n.ids.cursor)
    ),
    # Etags: B's, on B's resources
    "UpdateUser their etag": lambda a, n: a.stubs.users.UpdateUser(
        U.UpdateUserRequest(
            user=user_pb2.User(name=n.user(), display_name="changed by A", etag=n.ids.user_etag),
            update_mask=_mask("display_name"),
        ),
        metadata=a.metadata,
    ),
    "DeleteUser their etag": lambda a, n: a.stubs.users.DeleteUser(
        U.DeleteUserRequest(name=n.user(), etag=n.ids.user_etag), metadata=a.metadata
    ),
    "DeactivateUser their etag": lambda a, n: a.stubs.users.DeactivateUser(
        U.DeactivateUserRequest(name=n.user(), etag=n.ids.user_etag), metadata=a.metadata
    ),
    "DeleteGroup their etag": lambda a, n: a.stubs.groups.DeleteGroup(
        G.DeleteGroupRequest(name=n.group(), etag=n.ids.group_etag), metadata=a.metadata
    ),
    "ModifyGroup their etag": lambda a, n: a.stubs.groups.ModifyGroup(
        G.ModifyGroupRequest(
            group=group_pb2.Group(name=n.group(), etag=n.ids.group_etag),
            remove_members=[n.user()],
        ),
        metadata=a.metadata,
    ),
    # ModifyGroup
    "ModifyGroup their group": lambda a, n: a.stubs.groups.ModifyGroup(
        G.ModifyGroupRequest(
            group=group_pb2.Group(name=n.group(), display_name="changed by A"),
            update_mask=_mask("display_name"),
        ),
        metadata=a.metadata,
    ),
    "ModifyGroup their group, members": lambda a, n: a.stubs.groups.ModifyGroup(
        G.ModifyGroupRequest(group=group_pb2.Group(name=n.group()), remove_members=[n.user()]),
        metadata=a.metadata,
    ),
    "ModifyGroup own group, add their user": lambda a, n: a.stubs.groups.ModifyGroup(
        G.ModifyGroupRequest(group=group_pb2.Group(name=a.group), add_members=[n.user()]),
        metadata=a.metadata,
    ),
    "ModifyGroup own group, replace with their group": lambda a, n: a.stubs.groups.ModifyGroup(
        G.ModifyGroupRequest(
            group=group_pb2.Group(name=a.group), add_members=[n.group()], replace_members=True
        ),
        metadata=a.metadata,
    ),
    "ModifyGroup own group, remove their user": lambda a, n: (
        a.stubs.groups.ModifyGroup(
            G.ModifyGroupRequest(group=group_pb2.Group(name=a.group), remove_members=[n.user()]),
            metadata=a.metadata,
        ),
        _own_group(a),
    )[1],
}
