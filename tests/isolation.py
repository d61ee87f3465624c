"""Two tenants for the isolation matrices: tenant A, the caller, and tenant
B, whose ids, names, tokens and cursors A tries; B's state as B reads it,
to compare before and after (DESIGN.md "Tenancy")."""

import base64
import importlib
import json
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Protocol

import grpc
from google.protobuf import text_format
from grpc_status import rpc_status
from identity.v1 import (
    change_service_pb2,
    change_service_pb2_grpc,
    credential_pb2,
    credential_service_pb2,
    group_pb2,
    group_service_pb2,
    tenant_service_pb2,
    user_pb2,
    user_service_pb2,
)

from tests.helpers import Metadata, Stubs, error_info

U = user_service_pb2
G = group_service_pb2
C = credential_service_pb2
CH = change_service_pb2
# Every scope a tenant credential can hold: each case below is refused for
# tenancy alone, never for a scope.
ALL_TENANT_SCOPES = ("scim", "admin", "watch")


def shaped_token(payload: dict[str, object]) -> str:
    """A page token or change cursor of the server's shape (base64 JSON)."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class Ids:
    """The ids, unique values, tokens and cursors of tenant B's resources."""

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
    request_id: str
    users_token: str
    groups_token: str
    members_token: str
    credentials_token: str
    changes_token: str
    cursor: str
    user_etag: str
    group_etag: str

    @staticmethod
    def missing() -> "Ids":
        """Values of the same shapes that exist nowhere: tokens of a query
        and cursors of a tenant nobody has."""
        uuids = [str(uuid.uuid4()) for _ in range(6)]
        tokens = [shaped_token({"q": uuid.uuid4().hex[:24], "k": ["x", 1]}) for _ in range(5)]
        return Ids(
            user=uuids[0],
            deactivated_user=uuids[1],
            deleted_user=uuids[2],
            group=uuids[3],
            member_group=uuids[4],
            deleted_group=uuids[5],
            credential=uuid.uuid4().hex,
            user_name=f"nobody-{uuid.uuid4().hex}",
            external_id=uuid.uuid4().hex,
            group_name=f"no group {uuid.uuid4().hex}",
            request_id=uuid.uuid4().hex,
            users_token=tokens[0],
            groups_token=tokens[1],
            members_token=tokens[2],
            credentials_token=tokens[3],
            changes_token=tokens[4],
            cursor=shaped_token({"t": 2**40 + uuid.uuid4().int % 2**20, "s": 1}),
            user_etag='W/"987654"',
            group_etag='W/"987653"',
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

    def scrub(self, text: str) -> str:
        """`text` with each of these values replaced by its field's name, so
        answers about B's values and about missing ones compare equal
        exactly when they differ in nothing else. Etags are versions that
        every tenant's resources share: they are kept."""
        values = {
            getattr(self.ids, f.name): f"<{f.name}>" for f in fields(Ids) if "etag" not in f.name
        }
        values[self.slug] = "<tenant>"
        for value in sorted(values, key=len, reverse=True):
            text = text.replace(value, values[value])
        return text


@dataclass(frozen=True)
class Caller:
    """A tenant's credential (every tenant scope) and a group of its own."""

    stubs: Stubs
    changes: change_service_pb2_grpc.ChangeServiceStub
    metadata: Metadata
    parent: str
    group: str


def status_text(error: grpc.RpcError) -> str:
    """The whole rich status (message, ErrorInfo with its metadata, every
    other detail) as text."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    text = f"{error.code().name} {error.details()}"
    if status is None:
        return text
    return text + " " + text_format.MessageToString(status, as_one_line=True)


def outcome(call: Callable[[], object], names: Names) -> tuple[str, str, str]:
    """(code, ErrorInfo reason, scrubbed status) for an error; for an answer
    ("OK", "", a summary), which must mean the same with real and with
    missing values: a list summary or the caller's own data."""
    try:
        answer = call()
    except grpc.RpcError as error:
        return error.code().name, error_info(error).reason, names.scrub(status_text(error))
    summary = answer if isinstance(answer, tuple | str) else type(answer).__name__
    return "OK", "", repr(summary)


def _create_user(b: Caller, user_name: str, external_id: str = "", request_id: str = "") -> str:
    user = b.stubs.users.CreateUser(
        U.CreateUserRequest(
            parent=b.parent,
            user=user_pb2.User(user_name=user_name, external_id=external_id, display_name="B"),
            request_id=request_id,
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


def populate(b: Caller) -> Ids:
    """Tenant B's live, deactivated and deleted users, nested groups, a
    deleted group, a spare credential, and a first page of each list."""
    request_id = uuid.uuid4().hex
    user = _create_user(b, "bjensen", "ext-bjensen", request_id)
    user_etag = b.stubs.users.GetUser(
        U.GetUserRequest(name=f"{b.parent}/users/{user}"), metadata=b.metadata
    ).etag
    deactivated = _create_user(b, "jsmith")
    b.stubs.users.DeactivateUser(
        U.DeactivateUserRequest(name=f"{b.parent}/users/{deactivated}"), metadata=b.metadata
    )
    deleted = _create_user(b, "gone")
    b.stubs.users.DeleteUser(
        U.DeleteUserRequest(name=f"{b.parent}/users/{deleted}"), metadata=b.metadata
    )
    member_group = _create_group(b, "Inner", [f"{b.parent}/users/{user}"])
    group = _create_group(
        b, "Outer", [f"{b.parent}/users/{user}", f"{b.parent}/groups/{member_group}"]
    )
    deleted_group = _create_group(b, "Old", [])
    b.stubs.groups.DeleteGroup(
        G.DeleteGroupRequest(name=f"{b.parent}/groups/{deleted_group}"), metadata=b.metadata
    )
    credential = b.stubs.credentials.CreateCredential(
        C.CreateCredentialRequest(
            parent=b.parent, credential=credential_pb2.Credential(scopes=["read"])
        ),
        metadata=b.metadata,
    ).credential
    return Ids(
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
        request_id=request_id,
        user_etag=user_etag,
        group_etag=b.stubs.groups.GetGroup(
            G.GetGroupRequest(name=f"{b.parent}/groups/{group}"), metadata=b.metadata
        ).etag,
        **_first_pages(b, f"{b.parent}/groups/{group}"),
    )


class _Page(Protocol):
    next_page_token: str


def _first_pages(b: Caller, group: str) -> dict[str, str]:
    """B's next-page tokens of pages of one, and B's last change cursor."""
    stubs, md = b.stubs, b.metadata
    changes = b.changes.ListChanges(CH.ListChangesRequest(parent=b.parent), metadata=md)
    pages: dict[str, _Page] = {
        "users_token": stubs.users.ListUsers(
            U.ListUsersRequest(parent=b.parent, page_size=1), metadata=md
        ),
        "groups_token": stubs.groups.ListGroups(
            G.ListGroupsRequest(parent=b.parent, page_size=1), metadata=md
        ),
        "members_token": stubs.groups.ListMembers(
            G.ListMembersRequest(parent=group, page_size=1), metadata=md
        ),
        "credentials_token": stubs.credentials.ListCredentials(
            C.ListCredentialsRequest(parent=b.parent, page_size=1), metadata=md
        ),
        "changes_token": b.changes.ListChanges(
            CH.ListChangesRequest(parent=b.parent, page_size=1), metadata=md
        ),
    }
    tokens = {key: page.next_page_token for key, page in pages.items()}
    assert all(tokens.values()), tokens
    return {**tokens, "cursor": changes.changes[-1].cursor}


def snapshot(b: Caller, ids: Ids) -> tuple[object, ...]:
    """Everything of tenant B that A's calls could touch, read with B's own
    credential (credentials without last_use_time, which B's reads move),
    and B's whole change log."""
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
    log = b.changes.ListChanges(CH.ListChangesRequest(parent=b.parent, page_size=1000), metadata=md)
    return (users_, groups_, *members, memberships, list(credentials), tenant, log)


def every_rpc() -> list[str]:
    """ "Service.Method" of every RPC of every identity.v1 service, from the
    generated descriptors: a new RPC or service shows up here by itself."""
    package = importlib.import_module("identity.v1")
    found = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.endswith("_pb2"):
            descriptor = importlib.import_module(f"identity.v1.{module.name}").DESCRIPTOR
            for service in descriptor.services_by_name.values():
                found += [f"{service.name}.{method.name}" for method in service.methods]
    return sorted(found)
