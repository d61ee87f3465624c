"""The per-tenant sequence is gap-free and in commit order under concurrent
writers, in one tenant and across tenants, through the real server."""

from concurrent.futures import ThreadPoolExecutor

from identity.v1 import change_service_pb2_grpc, user_pb2, user_service_pb2, user_service_pb2_grpc

from identity_service.store.engine import Database
from tests.changes.conftest import watcher
from tests.changes.support import kinds
from tests.helpers import TenantAccess

WRITERS = 16
USERS_PER_TENANT = 60


def _create(users: user_service_pb2_grpc.UserServiceStub, tenant: TenantAccess, index: int) -> str:
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=user_pb2.User(user_name=f"user-{index}")
    )
    return users.CreateUser(request, metadata=tenant.metadata).name


def test_concurrent_writers_get_gap_free_ordered_seqs_in_every_tenant(
    db: Database,
    users: user_service_pb2_grpc.UserServiceStub,
    change_stub: change_service_pb2_grpc.ChangeServiceStub,
    tenant: TenantAccess,
    other_tenant: TenantAccess,
) -> None:
    """Many writer threads over two tenants: each log is 1..N, every user once."""
    jobs = [(t, i) for i in range(USERS_PER_TENANT) for t in (tenant, other_tenant)]
    with ThreadPoolExecutor(WRITERS) as pool:
        created = list(pool.map(lambda job: (job[0].slug, _create(users, *job)), jobs))

    for each in (tenant, other_tenant):
        records = watcher(db, change_stub, each).all(page_size=7)
        seqs = [r.seq for r in records]
        assert seqs == list(range(1, len(records) + 1))
        user_records = [r.resource for r in records if kinds([r]) == ["USER_CREATED"]]
        expected = sorted(name for slug, name in created if slug == each.slug)
        assert sorted(user_records) == expected
        assert len(set(user_records)) == USERS_PER_TENANT
        cursors = [r.cursor for r in records]
        assert len(set(cursors)) == len(cursors)
