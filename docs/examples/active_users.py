"""A consumer service that keeps a local table of active users in sync with
Roster, the pattern other teams copy: list, then watch from the list's change
cursor, so no change between the two is missed; react to deactivation.

Run it with a credential that has the read and watch scopes:

    ROSTER_TOKEN=... python docs/examples/active_users.py --tenant acme

It uses only the stubs generated from protos/ (package identity.v1)."""

import argparse
import os
import sqlite3
from collections.abc import Callable, Iterator

import grpc
from google.protobuf import json_format
from identity.v1 import (
    change_pb2,
    change_service_pb2,
    change_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)

_USER_KINDS = ("USER_CREATED", "USER_UPDATED", "USER_DEACTIVATED", "USER_REACTIVATED",
               "USER_DELETED", "USER_UNDELETED")  # fmt: skip


class ActiveUsers:
    """The local table: id -> userName of every active user."""

    def __init__(self, path: str = ":memory:") -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS active_users (id TEXT PRIMARY KEY, user_name TEXT)"
        )

    def put(self, user_id: str, user_name: str, active: bool) -> None:
        if active:
            self.db.execute(
                "INSERT OR REPLACE INTO active_users VALUES (?, ?)", (user_id, user_name)
            )
        else:
            self.db.execute("DELETE FROM active_users WHERE id = ?", (user_id,))
        self.db.commit()

    def names(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT user_name FROM active_users")}


def list_users(channel: grpc.Channel, parent: str, auth: tuple[tuple[str, str], ...],
               table: ActiveUsers) -> str:  # fmt: skip
    """Fill the table; returns the change cursor of the first page's snapshot."""
    stub = user_service_pb2_grpc.UserServiceStub(channel)
    token, cursor = "", ""
    while True:
        page = stub.ListUsers(
            user_service_pb2.ListUsersRequest(parent=parent, page_size=1000, page_token=token),
            metadata=auth,
        )
        cursor = cursor or page.change_cursor
        for user in page.users:
            table.put(user.id, user.user_name, user.state == user_pb2.User.ACTIVE)
        if not page.next_page_token:
            return cursor
        token = page.next_page_token


def apply(change: change_pb2.Change, table: ActiveUsers,
          on_deactivated: Callable[[str], None]) -> None:  # fmt: skip
    """One change: the snapshot after it says whether the user is active."""
    snapshot = json_format.MessageToDict(change.snapshot)
    user_id = change.resource.rsplit("/", 1)[-1]
    active = snapshot.get("state") == "ACTIVE"
    table.put(user_id, str(snapshot.get("user_name", "")), active)
    if change_pb2.Change.Kind.Name(change.kind) == "USER_DEACTIVATED":
        on_deactivated(str(snapshot.get("user_name", user_id)))


def watch(channel: grpc.Channel, parent: str, auth: tuple[tuple[str, str], ...], cursor: str,
          ) -> Iterator[change_pb2.Change]:  # fmt: skip
    """User changes after `cursor`, live; checkpoints move the cursor."""
    stub = change_service_pb2_grpc.ChangeServiceStub(channel)
    request = change_service_pb2.WatchChangesRequest(
        parent=parent,
        start_cursor=cursor,
        kinds=[change_pb2.Change.Kind.Value(k) for k in _USER_KINDS],
    )
    for response in stub.WatchChanges(request, metadata=auth):
        if response.HasField("change"):
            yield response.change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", default="-")
    parser.add_argument("--target", default="127.0.0.1:50051")
    args = parser.parse_args()
    auth = (("authorization", f"Bearer {os.environ['ROSTER_TOKEN']}"),)
    parent, table = f"tenants/{args.tenant}", ActiveUsers()
    with grpc.insecure_channel(args.target) as channel:
        cursor = list_users(channel, parent, auth, table)
        print(f"{len(table.names())} active users; watching")
        for change in watch(channel, parent, auth, cursor):
            apply(change, table, lambda name: print(f"deactivated: {name}: revoke sessions"))


if __name__ == "__main__":
    main()
