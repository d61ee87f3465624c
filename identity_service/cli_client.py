"""The `watch` and `audit` commands: a client of identity_service's gRPC API
like any consumer (never the database). The bearer credential comes from the
environment variable ROSTER_TOKEN and is never printed."""

import argparse
import functools
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import grpc
from google.protobuf import json_format
from identity.v1 import (
    change_pb2,
    change_service_pb2,
    change_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from identity_service.settings import Settings

TOKEN_VARIABLE = "ROSTER_TOKEN"  # noqa: S105  # the variable's name, not a secret
DEFAULT_TARGET = "127.0.0.1:50051"
Metadata = tuple[tuple[str, str], ...]
Command = Callable[[argparse.Namespace, Settings], int]
ClientCommand = Callable[[argparse.Namespace, grpc.Channel, Metadata], int]
Change = change_pb2.Change


def on_api(command: ClientCommand) -> Command:
    """A command that calls the API at `--target` with ROSTER_TOKEN: exit 2
    without a token, 1 (with the status) when a call fails."""

    @functools.wraps(command)
    def run(args: argparse.Namespace, settings: Settings) -> int:
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            return _fail(f"set {TOKEN_VARIABLE} to a bearer credential with the watch scope", 2)
        if (args.tls_cert is None) != (args.tls_key is None):
            return _fail("--tls-cert and --tls-key go together", 2)
        metadata = (("authorization", f"Bearer {token}"),)
        try:
            channel = _channel(args)
        except OSError as error:
            return _fail(f"cannot read {error.filename}: {error.strerror}", 2)
        with channel:
            try:
                return command(args, channel, metadata)
            except grpc.RpcError as error:
                return _fail(_status(error))

    return run


def _channel(args: argparse.Namespace) -> grpc.Channel:
    """Plain, or TLS when a CA or a client certificate is given."""
    if args.tls_ca is None and args.tls_cert is None:
        return grpc.insecure_channel(args.target)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=args.tls_ca.read_bytes() if args.tls_ca else None,
        private_key=args.tls_key.read_bytes() if args.tls_key else None,
        certificate_chain=args.tls_cert.read_bytes() if args.tls_cert else None,
    )
    return grpc.secure_channel(args.target, credentials)


@on_api
def watch(args: argparse.Namespace, channel: grpc.Channel, metadata: Metadata) -> int:
    """Tail the change log: a line per change; with --json, a JSON object per
    change and {"checkpoint": {...}} per checkpoint (to resume with --from).
    Without --tenant the stream may follow every tenant (a platform
    credential), where only checkpoints give a cursor to resume from."""
    stub = change_service_pb2_grpc.ChangeServiceStub(channel)
    request = change_service_pb2.WatchChangesRequest(
        parent=_parent(args.tenant), start_cursor=args.start_cursor
    )
    cursor = args.start_cursor
    call = stub.WatchChanges(request, metadata=metadata)
    interrupted = False

    def interrupt(signum: int, frame: object) -> None:
        # Ctrl-C cancels the call, which ends the iteration: a
        # KeyboardInterrupt raised inside gRPC's wait can leave the process
        # hanging instead (grpc/grpc#19464 recommends cancelling).
        nonlocal interrupted
        interrupted = True
        call.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leaves it untyped

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        for response in call:
            if response.HasField("change"):
                if args.tenant:
                    cursor = response.change.cursor
                print(_json(response.change) if args.json else change_line(response.change))
            else:
                cursor = response.checkpoint.cursor
                if args.json:
                    print(json.dumps({"checkpoint": _plain(response.checkpoint)}))
            sys.stdout.flush()
    except grpc.RpcError as error:
        if interrupted:
            return 0
        if error.code() != grpc.StatusCode.UNAVAILABLE:
            raise
        resume = f"; resume with --from {cursor}" if cursor else ""
        return _fail(f"the server is unavailable ({_details(error)}){resume}")
    finally:
        signal.signal(signal.SIGINT, previous)
    return 0


@on_api
def audit(args: argparse.Namespace, channel: grpc.Channel, metadata: Metadata) -> int:
    """The tenant's change records, oldest first: of one user with --user,
    committed at or after --since."""
    parent = _parent(args.tenant)
    resources = _users_named(channel, metadata, parent, args.user) if args.user else None
    if resources is not None and not resources:
        return _fail(f"no user {args.user!r} in tenant {args.tenant!r}")
    stub = change_service_pb2_grpc.ChangeServiceStub(channel)
    for change in _changes(stub, metadata, parent):
        if resources is not None and change.resource not in resources:
            continue
        if args.since is not None and change.commit_time.ToDatetime(UTC) < args.since:
            continue
        print(change_line(change, with_seq=False))
    return 0


def since(text: str) -> datetime:
    """An RFC 3339 time or a date (midnight UTC); a time without zone is UTC."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an RFC 3339 time nor a date (YYYY-MM-DD)"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def change_line(change: Change, *, with_seq: bool = True) -> str:
    """`TIME [seq=N] KIND RESOURCE by CREDENTIAL via METHOD PATH from CLIENT
    fields=a,b`, leaving out what the record does not carry."""
    parts = [_time(change)]
    if with_seq:
        parts.append(f"seq={change.seq}")
    parts += [Change.Kind.Name(change.kind), change.resource]
    actor = change.actor
    if actor.credential:
        parts.append(f"by {actor.credential}")
    if actor.method or actor.path:
        parts.append(" ".join(["via", *filter(None, (actor.method, actor.path))]))
    if actor.client:
        parts.append(f"from {actor.client}")
    if change.changed_fields:
        parts.append("fields=" + ",".join(change.changed_fields))
    return " ".join(parts)


def _changes(
    stub: change_service_pb2_grpc.ChangeServiceStub, metadata: Metadata, parent: str
) -> Iterator[Change]:
    token = ""
    while True:
        request = change_service_pb2.ListChangesRequest(
            parent=parent, page_size=1000, page_token=token
        )
        page = stub.ListChanges(request, metadata=metadata)
        yield from page.changes
        token = page.next_page_token
        if not token:
            return


def _users_named(
    channel: grpc.Channel, metadata: Metadata, parent: str, user_name: str
) -> set[str]:
    """The resource names of the users called `user_name`, deleted or not (a
    deleted user's userName may have been taken again)."""
    stub = user_service_pb2_grpc.UserServiceStub(channel)
    found: set[str] = set()
    token = ""
    while True:
        request = user_service_pb2.ListUsersRequest(
            parent=parent,
            filter=f"userName eq {json.dumps(user_name)}",
            show_deleted=True,
            page_size=1000,
            page_token=token,
        )
        page = stub.ListUsers(request, metadata=metadata)
        found.update(user.name for user in page.users)
        token = page.next_page_token
        if not token:
            return found


def _parent(tenant: str | None) -> str:
    return f"tenants/{tenant or '-'}"


def _time(change: Change) -> str:
    at = change.commit_time.ToDatetime(UTC)
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def _plain(message: object) -> object:
    return json_format.MessageToDict(message)  # type: ignore[arg-type]


def _json(message: object) -> str:
    return json.dumps(_plain(message), sort_keys=True, ensure_ascii=False)


def _details(error: grpc.RpcError) -> str:
    return str(error.details() or "")


def _status(error: grpc.RpcError) -> str:
    code = error.code()
    name = code.name if isinstance(code, grpc.StatusCode) else str(code)
    return f"{name}: {_details(error)}"


def _fail(message: str, status: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status
