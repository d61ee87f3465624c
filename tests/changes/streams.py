"""A WatchChanges stream in tests: a blocking call read by a background
thread into a queue, so a test waits for the next event with a timeout."""

import queue
import threading
from types import TracebackType
from typing import Self

import grpc
from identity.v1 import change_pb2, change_service_pb2, change_service_pb2_grpc

Response = change_service_pb2.WatchChangesResponse
Checkpoint = change_service_pb2.WatchChangesResponse.Checkpoint
_End = grpc.RpcError | None  # the call's error, or None when it ended with OK


class Stream:
    """One open WatchChanges call."""

    def __init__(
        self,
        stub: change_service_pb2_grpc.ChangeServiceStub,
        request: change_service_pb2.WatchChangesRequest,
        metadata: tuple[tuple[str, str], ...],
    ) -> None:
        self._call = stub.WatchChanges(request, metadata=metadata)
        self._events: queue.Queue[Response | _End] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for response in self._call:
                self._events.put(response)
        except grpc.RpcError as error:
            self._events.put(error)
        else:
            self._events.put(None)

    def next(self, timeout: float = 5.0) -> Response:
        """The next response; fails when the stream ended or stayed silent."""
        event = self._events.get(timeout=timeout)
        if not isinstance(event, Response):
            raise AssertionError(f"the stream ended: {event!r}")
        return event

    def until_checkpoint(self, timeout: float = 5.0) -> tuple[list[change_pb2.Change], Checkpoint]:
        """The changes before the next checkpoint, and that checkpoint."""
        found: list[change_pb2.Change] = []
        while True:
            response = self.next(timeout)
            if response.HasField("checkpoint"):
                return found, response.checkpoint
            found.append(response.change)

    def changes(self, count: int, timeout: float = 5.0) -> list[change_pb2.Change]:
        """The next `count` changes, checkpoints skipped."""
        found: list[change_pb2.Change] = []
        while len(found) < count:
            response = self.next(timeout)
            if response.HasField("change"):
                found.append(response.change)
        return found

    def error(self, timeout: float = 5.0) -> grpc.RpcError:
        """The error the stream ends with, after any further responses."""
        while True:
            event = self._events.get(timeout=timeout)
            if isinstance(event, grpc.RpcError):
                return event
            if event is None:
                raise AssertionError("the stream ended with OK")

    def until_error(self, timeout: float = 5.0) -> tuple[list[Response], grpc.RpcError]:
        """Every further response, and the error the stream then ends with."""
        found: list[Response] = []
        while True:
            event = self._events.get(timeout=timeout)
            if isinstance(event, grpc.RpcError):
                return found, event
            if event is None:
                raise AssertionError("the stream ended with OK")
            found.append(event)

    def cancel(self) -> None:
        self._call.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leaves it untyped

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()
