"""The caller's request id (call metadata x-request-id, which the facade
fills from X-Request-Id) is logged on the RPC's line and recorded as the
change records' request_id, unless the RPC names its own request_id
(AIP-155 idempotency), which wins (decision 0020)."""

import json
import logging
import uuid

import pytest
from identity.v1 import user_service_pb2

from roster_telemetry.logs import JsonFormatter
from tests.changes.support import Log
from tests.helpers import TenantAccess
from tests.users.support import Stub, User


def create(users: Stub, tenant: TenantAccess, request_id: str, call_id: str) -> User:
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=User(user_name="alice"), request_id=request_id
    )
    metadata = (*tenant.metadata, ("x-request-id", call_id)) if call_id else tenant.metadata
    return users.CreateUser(request, metadata=metadata)


def user_request_ids(log: Log) -> list[str]:
    """The request_id of each of the tenant's user records, oldest first."""
    return [record.request_id for record in log.all() if "/users/" in record.resource]


def rpc_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """identity_service's per-RPC lines, as the JSON log format writes them."""
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(r)) for r in caplog.records if r.name == "identity_service.rpc"
    ]


def test_the_call_s_request_id_is_the_change_record_s_request_id(
    users: Stub, log: Log, tenant: TenantAccess
) -> None:
    """A write without its own request_id records the caller's x-request-id."""
    create(users, tenant, "", "idp-7f3a")

    assert user_request_ids(log) == ["idp-7f3a"]


def test_the_rpc_s_own_request_id_wins_and_a_replay_records_nothing(
    users: Stub, log: Log, tenant: TenantAccess
) -> None:
    """AIP-155: request_id keeps deciding replays; the change carries it."""
    own = str(uuid.uuid4())
    first = create(users, tenant, own, "call-1")
    replay = create(users, tenant, own, "call-2")

    assert replay == first
    assert user_request_ids(log) == [own]


def test_the_rpc_line_carries_the_call_s_request_id_as_json(
    users: Stub, tenant: TenantAccess, caplog: pytest.LogCaptureFixture
) -> None:
    """The per-RPC line parses as JSON with method, tenant, status and request id."""
    caplog.set_level(logging.INFO, logger="identity_service.rpc")
    create(users, tenant, "", "idp-line-1")

    [line] = [entry for entry in rpc_lines(caplog) if entry["request_id"] == "idp-line-1"]
    assert line["rpc"] == "/identity.v1.UserService/CreateUser"
    assert (line["tenant"], line["status"], line["level"]) == (tenant.slug, "OK", "INFO")


def test_a_long_request_id_is_cut_to_the_change_log_s_64_characters(
    users: Stub, log: Log, tenant: TenantAccess
) -> None:
    """The change log's request_id holds 64 characters: longer ids are cut."""
    create(users, tenant, "", "r" * 100)

    assert user_request_ids(log) == ["r" * 64]
