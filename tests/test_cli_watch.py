"""`identity-service watch` and `audit`: real processes calling the session
server through the gRPC API with the credential in ROSTER_TOKEN."""

import contextlib
import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from identity.v1 import change_pb2, user_pb2, user_service_pb2

from identity_service import cli_client
from identity_service.service.access import Access
from identity_service.store.engine import Database
from tests.conftest import ServerThread
from tests.helpers import Stubs, TenantAccess, new_credential
from tests.processes import environment
from tests.test_cli import cli
from tests.tls import make_pki

Metadata = tuple[tuple[str, str], ...]


@pytest.fixture
def token(db: Database, tenant: TenantAccess) -> str:
    """A credential of the test's tenant that may watch and read."""
    return new_credential(db, tenant.slug, ("watch", "read"))


def scim_request(tenant: TenantAccess, method: str, path: str) -> Metadata:
    """The tenant's scim credential, reporting the SCIM request as the facade does."""
    return (
        *tenant.metadata,
        ("x-roster-origin-method", method),
        ("x-roster-origin-path", path),
        ("x-roster-origin-client", "203.0.113.9"),
    )


def create_user(stubs: Stubs, tenant: TenantAccess, name: str) -> user_pb2.User:
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=user_pb2.User(user_name=name)
    )
    metadata = scim_request(tenant, "POST", "/scim/v2/Users")
    created: user_pb2.User = stubs.users.CreateUser(request, metadata=metadata)
    return created


class Lines:
    """The stdout of a running process, read line by line with a timeout."""

    def __init__(self, process: "subprocess.Popen[str]") -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._process = process
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def next(self, timeout: float = 15.0) -> str:
        line = self._lines.get(timeout=timeout)
        if line is None:
            raise AssertionError(f"the process ended with {self._process.wait()}")
        return line


@contextlib.contextmanager
def watch_json(
    target: str, token: str, *options: str
) -> Iterator[tuple["subprocess.Popen[str]", Lines]]:
    """`watch --json` of the token's tenant, running until the block ends."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "identity_service", "watch", "--json", "--target", target),
            *options,
        ],
        env={**environment(), "ROSTER_TOKEN": token},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process, Lines(process)
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def watching(target: str, token: str) -> Iterator[tuple["subprocess.Popen[str]", Lines]]:
    with watch_json(target, token) as running:
        yield running


@pytest.fixture
def own_server(db: Database, database_url: str) -> Iterator[ServerThread]:
    """A server of this test alone, which it may stop."""
    server = ServerThread(db, database_url)
    yield server
    server.stop()


def test_audit_of_a_user_shows_its_records_in_order_with_the_actor(
    db: Database, target: str, tenant: TenantAccess, token: str, stubs: Stubs
) -> None:
    """After create and deactivate, `audit --user alice` prints both records,
    oldest first, each naming the credential and the SCIM request; other
    users' records are left out."""
    alice = create_user(stubs, tenant, "alice")
    create_user(stubs, tenant, "bob")
    path = f"/scim/v2/Users/{alice.name.rsplit('/', 1)[-1]}"
    stubs.users.DeactivateUser(
        user_service_pb2.DeactivateUserRequest(name=alice.name),
        metadata=scim_request(tenant, "PATCH", path),
    )
    credential_id = Access(db).authenticate(tenant.secret).credential_id
    actor = f"by tenants/{tenant.slug}/credentials/{credential_id}"

    audited = cli(
        "audit", "--tenant", tenant.slug, "--user", "alice", "--target", target,
        url=None, env={"ROSTER_TOKEN": token},
    )  # fmt: skip

    assert audited.returncode == 0, audited.stderr
    lines = audited.stdout.splitlines()
    assert [line.split()[1:3] for line in lines] == [
        ["USER_CREATED", alice.name],
        ["USER_DEACTIVATED", alice.name],
    ]
    assert lines[0].endswith(f"{actor} via POST /scim/v2/Users from 203.0.113.9")
    assert f"{actor} via PATCH {path} from 203.0.113.9" in lines[1]
    assert token not in audited.stdout + audited.stderr


def test_audit_since_leaves_out_older_records(
    target: str, tenant: TenantAccess, token: str, stubs: Stubs
) -> None:
    """--since takes a date or an RFC 3339 time; a bad one is a usage error."""
    create_user(stubs, tenant, "alice")
    env = {"ROSTER_TOKEN": token}
    base = ("audit", "--tenant", tenant.slug, "--target", target)
    everything = cli(*base, "--since", "2000-01-01", url=None, env=env)
    future = cli(*base, "--since", "2999-01-01T00:00:00Z", url=None, env=env)
    malformed = cli(*base, "--since", "yesterday", url=None, env=env)
    assert "USER_CREATED" in everything.stdout
    assert (future.returncode, future.stdout) == (0, "")
    assert malformed.returncode == 2


def test_watch_json_prints_a_change_made_after_it_started(
    watching: tuple["subprocess.Popen[str]", Lines], tenant: TenantAccess, stubs: Stubs
) -> None:
    """The stream opens with a checkpoint line; a user created afterwards
    arrives as a JSON change; Ctrl-C ends the command with exit 0."""
    process, lines = watching
    assert "checkpoint" in json.loads(lines.next())
    alice = create_user(stubs, tenant, "alice")
    while "checkpoint" in (printed := json.loads(lines.next())):
        pass
    assert (printed["kind"], printed["resource"]) == ("USER_CREATED", alice.name)
    assert printed["actor"]["method"] == "POST"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


@pytest.mark.parametrize("command", [["watch"], ["audit", "--tenant", "acme"]])
def test_a_missing_token_is_a_usage_error(target: str, command: list[str]) -> None:
    """Without ROSTER_TOKEN both commands exit 2 and say what to set."""
    failed = cli(*command, "--target", target, url=None)
    assert failed.returncode == 2
    assert "ROSTER_TOKEN" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_a_call_the_server_refuses_is_an_error(target: str, tenant: TenantAccess) -> None:
    """A credential without the watch scope: exit 1 with the status, no traceback."""
    failed = cli(
        "audit", "--tenant", tenant.slug, "--target", target,
        url=None, env={"ROSTER_TOKEN": tenant.secret},
    )  # fmt: skip
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: PERMISSION_DENIED")
    assert tenant.secret not in failed.stderr


def test_watch_at_server_shutdown_exits_1_naming_the_cursor_to_resume_from(
    own_server: ServerThread, tenant: TenantAccess, token: str
) -> None:
    """UNAVAILABLE when the server stops: a short message with the last
    checkpoint's cursor on stderr, exit 1, no traceback."""
    with watch_json(f"127.0.0.1:{own_server.running.port}", token) as (process, lines):
        checkpoint = json.loads(lines.next())["checkpoint"]
        own_server.stop(grace=5)
        assert process.wait(timeout=30) == 1
        assert process.stderr is not None
        stderr = process.stderr.read()
    assert stderr.startswith("error: the server is unavailable")
    assert f"resume with --from {checkpoint['cursor']}" in stderr
    assert "Traceback" not in stderr


def test_a_readable_watch_line_names_time_seq_kind_resource_actor_and_fields() -> None:
    """Without --json, one line per change; what the record lacks is left out."""
    change = change_pb2.Change(
        seq=7,
        kind=change_pb2.Change.USER_UPDATED,
        resource="tenants/acme/users/u1",
        changed_fields=["display_name", "emails"],
        actor=change_pb2.Change.Actor(credential="tenants/acme/credentials/c1"),
    )
    change.commit_time.FromDatetime(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))

    assert cli_client.change_line(change) == (
        "2026-11-29T10:00:00Z seq=7 USER_UPDATED tenants/acme/users/u1"
        " by tenants/acme/credentials/c1 fields=display_name,emails"
    )


def test_watch_reaches_a_mutual_tls_server_with_the_given_certificates(
    db: Database, database_url: str, tmp_path: Path, tenant: TenantAccess, token: str
) -> None:
    """--tls-ca, --tls-cert and --tls-key: the stream opens over mutual TLS;
    without them the call fails and says so."""
    pki = make_pki(tmp_path)
    server = ServerThread(
        db,
        database_url,
        tls_cert_file=pki.server_cert,
        tls_key_file=pki.server_key,
        tls_client_ca_file=pki.ca,
    )
    target = f"127.0.0.1:{server.running.port}"
    tls = ("--tls-ca", str(pki.ca), "--tls-cert", str(pki.client_cert))
    try:
        with watch_json(target, token, *tls, "--tls-key", str(pki.client_key)) as (_, lines):
            assert "checkpoint" in json.loads(lines.next())
        with watch_json(target, token, *tls) as (process, _):
            assert process.wait(timeout=30) == 2  # a certificate needs its key
        with watch_json(target, token) as (process, _):
            assert process.wait(timeout=30) == 1
    finally:
        server.stop()
