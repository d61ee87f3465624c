"""A platform credential follows every tenant's log with one stream
("tenants/-"): each tenant's records in order, new tenants included, and a
checkpoint cursor that resumes all of them at once."""

import threading
import time

import grpc
import pytest
from identity.v1 import (
    change_pb2,
    change_service_pb2,
    change_service_pb2_grpc,
    group_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service.domain.models import TenantState
from identity_service.service.tenants import OPERATOR, Tenants
from identity_service.store.engine import Database
from tests.changes.conftest import watcher
from tests.changes.streams import Stream
from tests.changes.support import Log, kinds, snapshot
from tests.groups.support import Directory
from tests.helpers import TenantAccess, error_info, new_credential, new_tenant

Change = change_pb2.Change


@pytest.fixture
def everything(db: Database, change_stub: change_service_pb2_grpc.ChangeServiceStub) -> Log:
    """Every tenant's log, read with a platform "watch" credential."""
    secret = new_credential(db, None, ("watch",))
    return Log(change_stub, "tenants/-", (("authorization", f"Bearer {secret}"),))


def _receive(stream: Stream, slugs: set[str], count: int) -> tuple[dict[str, list[Change]], str]:
    """The records of the tenants `slugs` (other tests' tenants share the
    database), per tenant in the order received, up to the checkpoint after
    the `count`th of them; and that checkpoint's cursor."""
    found: dict[str, list[Change]] = {slug: [] for slug in slugs}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = stream.next()
        if response.HasField("checkpoint"):
            if sum(map(len, found.values())) >= count:
                return found, response.checkpoint.cursor
            continue
        slug = response.change.resource.split("/")[1]
        if slug in found:
            found[slug].append(response.change)
    raise AssertionError(f"fewer than {count} records in 10 s: {found}")


def test_one_stream_delivers_every_tenants_changes_in_each_tenants_order(
    db: Database, everything: Log, tenant: TenantAccess, other_tenant: TenantAccess
) -> None:
    """Writes in two tenants and a tenant created after the stream opened
    all arrive; each tenant's records keep their seq order."""
    logs = [watcher(db, everything.stub, t) for t in (tenant, other_tenant)]
    with everything.watch() as stream:
        stream.until_checkpoint()  # the stream is open, at "now"
        for t in (tenant, other_tenant, tenant):
            new_credential(db, t.slug, ("read",))
        late = new_tenant(db)
        found, _ = _receive(stream, {tenant.slug, other_tenant.slug, late.slug}, 5)

    for t, log in zip((tenant, other_tenant), logs, strict=True):
        expected = log.all()[-(2 if t is tenant else 1) :]
        assert [r.seq for r in found[t.slug]] == [r.seq for r in expected]
        assert kinds(found[t.slug]) == ["CREDENTIAL_CREATED"] * len(expected)
    assert kinds(found[late.slug]) == ["TENANT_CREATED", "CREDENTIAL_CREATED"]
    assert [r.seq for r in found[late.slug]] == [1, 2]


def test_a_checkpoint_resumes_every_tenant_where_it_stood(
    db: Database, everything: Log, tenant: TenantAccess, other_tenant: TenantAccess
) -> None:
    """Changes made while no stream was open, in old and new tenants, are
    exactly what a stream resumed from the last checkpoint delivers."""
    with everything.watch() as stream:
        stream.until_checkpoint()
        new_credential(db, tenant.slug, ("read",))
        _, resume_at = _receive(stream, {tenant.slug}, 1)

    Tenants(db).set_state(OPERATOR, other_tenant.slug, TenantState.SUSPENDED)
    new_credential(db, tenant.slug, ("read",))
    late = new_tenant(db)

    with everything.watch(start_cursor=resume_at) as resumed:
        found, _ = _receive(resumed, {tenant.slug, other_tenant.slug, late.slug}, 4)
    assert kinds(found[tenant.slug]) == ["CREDENTIAL_CREATED"]
    assert kinds(found[other_tenant.slug]) == ["TENANT_SUSPENDED"]
    assert kinds(found[late.slug]) == ["TENANT_CREATED", "CREDENTIAL_CREATED"]


def test_the_all_tenants_stream_filters_like_a_tenants_stream(
    db: Database, everything: Log, tenant: TenantAccess
) -> None:
    """Filters apply to every tenant; checkpoints still move past the rest."""
    tenant_events = Change.ResourceType.Value("TENANT")
    with everything.watch(resource_types=[tenant_events]) as stream:
        stream.until_checkpoint()
        new_credential(db, tenant.slug, ("read",))
        late = new_tenant(db)
        found, _ = _receive(stream, {tenant.slug, late.slug}, 1)

    assert {slug: kinds(records) for slug, records in found.items()} == {
        tenant.slug: [],
        late.slug: ["TENANT_CREATED"],
    }


def test_a_tenant_credential_with_the_wildcard_follows_only_its_tenant(
    db: Database,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
    other_tenant: TenantAccess,
) -> None:
    """For a tenant credential "tenants/-" stays its own tenant."""
    log = watcher(db, change_stub, tenant)
    with log.watch() as stream:
        stream.until_checkpoint()
        new_credential(db, other_tenant.slug, ("read",))
        new_credential(db, tenant.slug, ("read",))
        received = stream.changes(1)
        _, checkpoint = stream.until_checkpoint()

    assert [r.resource.split("/")[1] for r in received] == [tenant.slug]
    assert checkpoint.cursor == log.last_cursor()


def _watch_error(everything: Log, **fields: object) -> grpc.RpcError:
    with everything.watch(**fields) as stream:
        return stream.error()


def test_cursors_of_one_tenant_and_of_all_tenants_do_not_mix(
    db: Database, everything: Log, tenant: TenantAccess
) -> None:
    """A record's cursor does not resume an all-tenants stream, nor an
    all-tenants checkpoint a tenant's stream; garbage is refused too."""
    log = watcher(db, everything.stub, tenant)
    with everything.watch() as stream:
        all_cursor = stream.until_checkpoint()[1].cursor

    refused = [
        _watch_error(everything, start_cursor=log.last_cursor()),
        _watch_error(everything, start_cursor="not-a-cursor"),
        _watch_error(log, start_cursor=all_cursor),
    ]

    for error in refused:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_info(error).reason == "INVALID_FIELD"


def test_following_every_tenant_needs_the_watch_scope(everything: Log, db: Database) -> None:
    secret = new_credential(db, None, ("admin", "read"))
    admin = Log(everything.stub, "tenants/-", (("authorization", f"Bearer {secret}"),))

    error = _watch_error(admin)

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(error).reason == "MISSING_SCOPE"


def test_listing_needs_a_named_tenant(everything: Log) -> None:
    """ListChanges pages one tenant's log: a platform caller names it."""
    request = change_service_pb2.ListChangesRequest(parent="tenants/-")
    with pytest.raises(grpc.RpcError) as raised:
        everything.stub.ListChanges(request, metadata=everything.metadata)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(raised.value).reason == "INVALID_FIELD"


def test_concurrent_writers_in_many_tenants_lose_and_duplicate_nothing(
    db: Database,
    everything: Log,
    users: user_service_pb2_grpc.UserServiceStub,
    groups: group_service_pb2_grpc.GroupServiceStub,
) -> None:
    """Two writers per tenant in three tenants create users and deactivate
    every other one, while one stream follows them all: each tenant's
    records arrive once, gap-free, and replaying them gives the users'
    final states exactly."""
    directories = [Directory(users, groups, new_tenant(db)) for _ in range(3)]

    def write(directory: Directory) -> None:
        for number in range(8):
            user = directory.user()
            if number % 2:
                request = user_service_pb2.DeactivateUserRequest(name=user.name)
                users.DeactivateUser(request, metadata=directory.metadata)

    writers = [threading.Thread(target=write, args=(d,)) for d in directories * 2]
    with everything.watch() as stream:
        stream.until_checkpoint()
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        slugs = {d.tenant.slug for d in directories}
        found, _ = _receive(stream, slugs, 3 * 2 * (8 + 4))

    for directory in directories:
        records = found[directory.tenant.slug]
        seqs = [r.seq for r in records]
        assert seqs == list(range(seqs[0], seqs[0] + 24))
        replayed: dict[str, str] = {}
        for record in records:
            replayed[record.resource] = snapshot(record)["state"]  # type: ignore[assignment]
        listing = users.ListUsers(
            user_service_pb2.ListUsersRequest(parent=directory.tenant.parent, page_size=100),
            metadata=directory.metadata,
        )
        assert replayed == {u.name: user_pb2.User.State.Name(u.state) for u in listing.users}
