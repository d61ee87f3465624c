"""docs/examples/active_users.py, the consumer other teams copy: list, then
watch from the list's change cursor, against the real server."""

import importlib.util
import threading
import time
from pathlib import Path
from types import ModuleType

import grpc
from identity.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from identity_service.store.engine import Database
from tests.helpers import TenantAccess, new_credential

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "active_users.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("active_users", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _create(channel: grpc.Channel, tenant: TenantAccess, name: str) -> user_pb2.User:
    users = user_service_pb2_grpc.UserServiceStub(channel)
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=user_pb2.User(user_name=name)
    )
    created: user_pb2.User = users.CreateUser(request, metadata=tenant.metadata)
    return created


def test_the_example_consumer_follows_creation_and_deactivation(
    channel: grpc.Channel, db: Database, tenant: TenantAccess
) -> None:
    """Users listed, created after the list and deactivated all reach the local table."""
    example = _example()
    users = user_service_pb2_grpc.UserServiceStub(channel)
    alice = _create(channel, tenant, "alice")
    auth = (("authorization", f"Bearer {new_credential(db, tenant.slug, ('read', 'watch'))}"),)
    table = example.ActiveUsers()
    deactivated: list[str] = []
    cursor = example.list_users(channel, tenant.parent, auth, table)
    assert table.names() == {"alice"}
    _create(channel, tenant, "bob")  # after the list, before the watch: not missed
    stream = example.watch(channel, tenant.parent, auth, cursor)

    def follow() -> None:
        for change in stream:
            example.apply(change, table, deactivated.append)
            if deactivated:
                return

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    users.DeactivateUser(
        user_service_pb2.DeactivateUserRequest(name=alice.name), metadata=tenant.metadata
    )
    follower.join(timeout=10)
    assert not follower.is_alive(), "the deactivation did not arrive"
    stream.close()
    assert deactivated == ["alice"]
    deadline = time.monotonic() + 5
    while table.names() != {"bob"} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert table.names() == {"bob"}
