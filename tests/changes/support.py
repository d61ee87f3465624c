"""Reading a tenant's change log through identity.v1.ChangeService."""

from dataclasses import dataclass

from google.protobuf import json_format
from identity.v1 import change_pb2, change_service_pb2, change_service_pb2_grpc

from tests.changes.streams import Stream

Change = change_pb2.Change
Kind = change_pb2.Change.Kind


@dataclass(frozen=True)
class Log:
    """One tenant's change log, read with a "watch" credential."""

    stub: change_service_pb2_grpc.ChangeServiceStub
    parent: str
    metadata: tuple[tuple[str, str], ...]

    def page(self, **fields: object) -> change_service_pb2.ListChangesResponse:
        request = change_service_pb2.ListChangesRequest(parent=self.parent, **fields)  # type: ignore[arg-type]
        return self.stub.ListChanges(request, metadata=self.metadata)

    def all(self, **fields: object) -> list[Change]:
        """Every record, page by page."""
        found: list[Change] = []
        token = ""
        while True:
            response = self.page(
                page_size=fields.pop("page_size", 1000), page_token=token, **fields
            )
            found += response.changes
            token = response.next_page_token
            if not token:
                return found

    def since(self, cursor: str) -> list[Change]:
        return self.all(start_cursor=cursor)

    def watch(self, **fields: object) -> Stream:
        """An open WatchChanges stream of this log."""
        request = change_service_pb2.WatchChangesRequest(parent=self.parent, **fields)  # type: ignore[arg-type]
        return Stream(self.stub, request, self.metadata)

    def last_cursor(self) -> str:
        records = self.all()
        return records[-1].cursor if records else ""


def kinds(records: list[Change]) -> list[str]:
    return [Kind.Name(r.kind) for r in records]


def snapshot(record: Change) -> dict[str, object]:
    return json_format.MessageToDict(record.snapshot)
