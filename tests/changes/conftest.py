"""Fixtures of the change log tests: the ChangeService stub and a tenant's
log read with a "watch" credential."""

import pytest
from identity.v1 import change_service_pb2_grpc

from identity_service.store.engine import Database
from tests.changes.support import Log
from tests.helpers import TenantAccess, new_credential


def watcher(
    db: Database, stub: change_service_pb2_grpc.ChangeServiceStub, tenant: TenantAccess
) -> Log:
    secret = new_credential(db, tenant.slug, ("watch",))
    return Log(stub, "tenants/-", (("authorization", f"Bearer {secret}"),))


@pytest.fixture
def log(
    db: Database, change_stub: change_service_pb2_grpc.ChangeServiceStub, tenant: TenantAccess
) -> Log:
    """The test tenant's change log."""
    return watcher(db, change_stub, tenant)
