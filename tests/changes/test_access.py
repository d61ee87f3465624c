"""ListChanges needs the "watch" scope and reads only the caller's tenant."""

from collections.abc import Callable

import grpc
import pytest
from identity.v1 import change_service_pb2, change_service_pb2_grpc

from identity_service.store.engine import Database
from tests.changes.conftest import watcher
from tests.changes.support import Change, Log
from tests.helpers import TenantAccess, error_info, new_credential


def _refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def test_a_credential_without_watch_scope_is_refused(
    change_stub: change_service_pb2_grpc.ChangeServiceStub, tenant: TenantAccess
) -> None:
    """A "scim" credential reads and writes but may not follow changes."""
    request = change_service_pb2.ListChangesRequest(parent=tenant.parent)
    error = _refused(lambda: change_stub.ListChanges(request, metadata=tenant.metadata))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(error).reason == "MISSING_SCOPE"


def test_another_tenants_log_is_not_found(log: Log, other_tenant: TenantAccess) -> None:
    """Another tenant's log is indistinguishable from a missing tenant."""
    elsewhere = Log(log.stub, other_tenant.parent, log.metadata)

    error = _refused(elsewhere.all)

    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_a_cursor_of_another_tenant_is_refused(
    db: Database, log: Log, other_tenant: TenantAccess
) -> None:
    """Cursors are bound to their tenant's log."""
    foreign = watcher(db, log.stub, other_tenant).last_cursor()

    error = _refused(lambda: log.since(foreign))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error).reason == "INVALID_FIELD"


def test_a_platform_watcher_reads_a_named_tenant(
    db: Database, log: Log, tenant: TenantAccess
) -> None:
    """A platform credential with "watch" names the tenant it reads."""
    secret = new_credential(db, None, ("watch",))
    platform = Log(log.stub, tenant.parent, (("authorization", f"Bearer {secret}"),))

    assert [r.seq for r in platform.all()] == [r.seq for r in log.all()]


def test_each_tenant_sees_only_its_own_records(
    db: Database, log: Log, other_tenant: TenantAccess
) -> None:
    """Every record of a tenant's log names a resource of that tenant."""
    watcher(db, log.stub, other_tenant)

    assert all(r.resource.startswith(f"tenants/{log_slug(log)}") for r in log.all())


def log_slug(log: Log) -> str:
    return log.all()[0].resource.removeprefix("tenants/").split("/")[0]


def test_filters_by_kind_and_resource_type(log: Log) -> None:
    """resource_types and kinds narrow the records; the seqs stay the log's."""
    credentials = log.all(resource_types=[Change.CREDENTIAL])
    created = log.all(kinds=[Change.TENANT_CREATED])

    assert [r.seq for r in credentials] == [2, 3]
    assert [r.seq for r in created] == [1]
