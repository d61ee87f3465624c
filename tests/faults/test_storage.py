"""The database failing under identity_service, for real: another process
holding SQLite's write lock past the busy timeout, PostgreSQL terminating
identity_service's connections, PostgreSQL restarting. A call that cannot
be served answers UNAVAILABLE with ErrorInfo STORAGE_UNAVAILABLE (the
facade: 503), nothing is half written, and the same processes recover by
themselves."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fastapi.testclient import TestClient
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from identity_service.store.engine import SQLITE_BUSY_TIMEOUT_MS
from scim_facade.app import create_app
from scim_facade.settings import Settings
from tests.faults import audit
from tests.faults.load import Load
from tests.faults.support import Facade, Identity, Stored, assert_unavailable, stored, stored_sqlite
from tests.helpers import error_info, new_tenant
from tests.postgres import Postgres, Reachability
from tests.processes import Processes

pytestmark = pytest.mark.timeout(240)
BASE = "/scim/v2"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
# Calls wait longer than identity_service's busy timeout (at most twice: a
# credential's last use, then the write), so they see its own answer.
DEADLINE_SECONDS = 3 * SQLITE_BUSY_TIMEOUT_MS / 1000
WORKERS = 3
STEPS = 3
STEP_SECONDS = 90.0


@pytest.fixture
def sqlite_data(tmp_path: Path) -> Iterator[Stored]:
    data = stored_sqlite(tmp_path)
    yield data
    data.database.dispose()


def _create(stub: user_service_pb2_grpc.UserServiceStub, data: Stored, user_name: str) -> None:
    user = user_pb2.User(user_name=user_name)
    request = user_service_pb2.CreateUserRequest(parent=data.tenant.parent, user=user)
    stub.CreateUser(request, metadata=data.tenant.metadata, timeout=DEADLINE_SECONDS)


def _user(user_name: str) -> dict[str, object]:
    return {"schemas": [CORE], "userName": user_name}


def _locked(path: str) -> sqlite3.Connection:
    """Another process's view: a connection holding the write lock."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_a_write_lock_held_past_the_busy_timeout_is_unavailable_and_changes_nothing(
    processes: Processes, sqlite_data: Stored
) -> None:
    """While another process holds SQLite's write lock longer than the busy
    timeout, a write answers UNAVAILABLE (STORAGE_UNAVAILABLE) over gRPC and
    503 with Retry-After through the facade (RFC 7644 §3.12); reads go on;
    once the lock is released the same server writes again, the refused
    writes left no trace, and the file is intact."""
    identity = Identity(processes, sqlite_data.url)
    identity.start()
    settings = Settings(identity_target=identity.target, identity_timeout_seconds=DEADLINE_SECONDS)
    path = sqlite_data.url.removeprefix("sqlite:///")
    with (
        grpc.insecure_channel(identity.target) as channel,
        TestClient(create_app(settings), base_url="http://scim.test") as facade,
    ):
        stub = user_service_pb2_grpc.UserServiceStub(channel)
        facade.headers.update({"Authorization": f"Bearer {sqlite_data.tenant.secret}"})
        holder = _locked(path)
        try:
            listed = facade.get(f"{BASE}/Users")
            with pytest.raises(grpc.RpcError) as refused:
                _create(stub, sqlite_data, "over-grpc")
            assert_unavailable(facade.post(f"{BASE}/Users", json=_user("over-scim")))
        finally:
            holder.rollback()
            holder.close()
        for user_name in ("over-grpc", "over-scim"):  # not there: no 409
            _create(stub, sqlite_data, user_name)

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(refused.value).reason == "STORAGE_UNAVAILABLE"
    assert listed.status_code == 200, listed.text
    records = audit.change_log(sqlite_data.database, sqlite_data.tenant.slug)
    assert [r.snapshot.get("user_name") for r in records if r.kind == "USER_CREATED"] == [
        "over-grpc",
        "over-scim",
    ]
    audit.check_change_log(sqlite_data.database, sqlite_data.tenant.slug)
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[Postgres]:
    """A PostgreSQL server of this module's own, since a test restarts it."""
    with Postgres() as server:
        yield server


@pytest.mark.parametrize("fault", ["terminate_connections", "restart_postgresql"])
def test_postgresql_connection_loss_under_write_load_loses_no_acknowledged_write(
    processes: Processes, own_postgres: Postgres, fault: str
) -> None:
    """identity_service's connections are cut (pg_terminate_backend) or the
    server restarts while SCIM writes run: each failed request is a 503
    (RFC 7644 §3.12), never a 500; every acknowledged write is there and
    whole, the change log matches the data, and writes succeed again without
    restarting identity_service or the facade."""
    data = stored(own_postgres.database())
    identity = Identity(processes, data.url, ROSTER_HEALTH_CHECK_SECONDS="0.2")
    identity.start()
    facade = Facade(processes, identity.target, DEADLINE_SECONDS)
    facade.start()
    load = Load(facade.url, data.tenant.secret, WORKERS)
    try:
        for _ in range(3):
            load.wait_for_steps(STEPS, STEP_SECONDS)
            if fault == "restart_postgresql":
                own_postgres.restart()
            else:
                assert Reachability(own_postgres, data.url).terminate() > 0
        load.wait_for_steps(STEPS, STEP_SECONDS)
    finally:
        acknowledged = load.stop()
    try:
        audit.check(data.database, data.tenant.slug, acknowledged)
    finally:
        data.database.dispose()  # also when the audit fails: no connection left to the GC


def test_reads_after_a_write_do_not_wait_for_another_process_holding_the_write_lock(
    sqlite_data: Stored,
) -> None:
    """A read transaction begins DEFERRED, also on a pooled connection that
    served a write (BEGIN IMMEDIATE) before: in WAL mode it reads its
    snapshot while another process holds the write lock."""
    database = sqlite_data.database
    new_tenant(database)  # writes on the pool's connection
    holder = _locked(sqlite_data.url.removeprefix("sqlite:///"))
    try:
        with database.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM tenants").scalar() == 2
    finally:
        holder.rollback()
        holder.close()
