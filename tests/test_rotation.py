"""Rotating a tenant's credential without downtime over gRPC: an IdP (or
service) keeps calling while the operator adds a second credential, the
caller switches to it, and the first is revoked. Two credentials are valid
during the switch; no call fails; the old one is refused afterwards."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import grpc
import pytest
from identity.v1 import token_service_pb2, token_service_pb2_grpc, user_service_pb2
from identity.v1 import user_service_pb2_grpc as user_grpc

from identity_service.service.tenants import OPERATOR, Credentials
from identity_service.store.engine import Database
from tests.helpers import TenantAccess


class Caller:
    """A thread calling ListUsers back to back with whatever secret is current."""

    def __init__(self, users: user_grpc.UserServiceStub, parent: str, secret: str) -> None:
        self.secret = secret
        self.answers: list[tuple[str, str]] = []  # (secret used, status code name)
        self._users, self._parent = users, parent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        request = user_service_pb2.ListUsersRequest(parent=self._parent)
        while not self._stop.is_set():
            secret = self.secret
            try:
                self._users.ListUsers(request, metadata=(("authorization", f"Bearer {secret}"),))
                self.answers.append((secret, "OK"))
            except grpc.RpcError as error:
                self.answers.append((secret, error.code().name))

    def wait_for(self, secret: str, count: int = 3) -> None:
        """Until `count` answers to calls with `secret` came back (so none
        with an earlier secret is still in flight)."""
        deadline = time.monotonic() + 30
        while sum(1 for used, _ in self.answers if used == secret) < count:
            assert time.monotonic() < deadline, "the caller made no calls"
            time.sleep(0.01)

    @contextmanager
    def running(self) -> Iterator["Caller"]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=30)


def _access_token(stub: token_service_pb2_grpc.TokenServiceStub, client: tuple[str, str]) -> str:
    request = token_service_pb2.CreateAccessTokenRequest(client_id=client[0])
    answer = stub.CreateAccessToken(request, metadata=(("authorization", f"Bearer {client[1]}"),))
    token: str = answer.access_token
    return token


# How a caller authenticates with a new credential: its secret, or an access token for it.
Presented = Callable[[token_service_pb2_grpc.TokenServiceStub, tuple[str, str]], str]
PRESENTED: dict[str, Presented] = {
    "long-lived secret": lambda stub, client: client[1],
    "OAuth access token": _access_token,
}


@pytest.mark.parametrize("presented", PRESENTED.values(), ids=PRESENTED.keys())
def test_a_credential_rotates_under_load_without_a_failed_call(
    db: Database,
    channel: grpc.Channel,
    tenant: TenantAccess,
    presented: Presented,
) -> None:
    """Two valid credentials during the switch; after the old one is revoked it fails at once."""
    tokens = token_service_pb2_grpc.TokenServiceStub(channel)
    users = user_grpc.UserServiceStub(channel)
    old = Credentials(db).create(OPERATOR, tenant.slug, scopes=("scim",))
    old_secret = presented(tokens, (old[0].id, old[1]))
    caller = Caller(users, tenant.parent, old_secret)
    with caller.running():
        caller.wait_for(old_secret)
        new = Credentials(db).create(OPERATOR, tenant.slug, scopes=("scim",))
        new_secret = presented(tokens, (new[0].id, new[1]))
        caller.secret = new_secret
        caller.wait_for(new_secret)
        Credentials(db).revoke(OPERATOR, tenant.slug, old[0].id)
        revoked_after = sum(1 for used, _ in caller.answers if used == new_secret)
        caller.wait_for(new_secret, count=revoked_after + 3)  # calls after the revocation
    assert {status for _, status in caller.answers} == {"OK"}
    request = user_service_pb2.ListUsersRequest(parent=tenant.parent)
    with pytest.raises(grpc.RpcError) as refused:
        users.ListUsers(request, metadata=(("authorization", f"Bearer {old_secret}"),))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
