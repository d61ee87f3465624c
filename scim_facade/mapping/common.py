"""What User and Group resources share: their meta attribute."""

from typing import Any, Protocol

from google.protobuf import timestamp_pb2


class _Versioned(Protocol):
    @property
    def create_time(self) -> timestamp_pb2.Timestamp: ...
    @property
    def update_time(self) -> timestamp_pb2.Timestamp: ...
    @property
    def etag(self) -> str: ...


def _rfc3339(time: timestamp_pb2.Timestamp) -> str:
    return str(time.ToJsonString())


def meta(resource_type: str, resource: _Versioned, location: str) -> dict[str, Any]:
    """RFC 7643 §3.1 meta; version is the weak ETag of the resource."""
    return {
        "resourceType": resource_type,
        "created": _rfc3339(resource.create_time),
        "lastModified": _rfc3339(resource.update_time),
        "location": location,
        "version": resource.etag,
    }
