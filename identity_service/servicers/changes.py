"""identity.v1.ChangeService: adapts ListChanges and WatchChanges to the
change log, and change records to identity.v1.Change."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import struct_pb2
from identity.v1 import change_pb2, change_service_pb2, change_service_pb2_grpc

from identity_service.domain.changes import Change, ChangeKind, Checkpoint, ResourceType
from identity_service.domain.errors import InvalidField
from identity_service.service import changes
from identity_service.service.changes import Changes
from identity_service.service.watch import Filters, Watch
from identity_service.servicers import metrics, names
from identity_service.servicers.convert import timestamp
from identity_service.servicers.interceptor import caller

Context = grpc.aio.ServicerContext[Any, Any]
_Proto = change_pb2.Change
_Event = change_service_pb2.WatchChangesResponse


def _kinds(values: Any) -> list[ChangeKind]:
    if any(v == _Proto.KIND_UNSPECIFIED for v in values):
        raise InvalidField.of("kinds", "KIND_UNSPECIFIED is not a kind")
    return [ChangeKind(_Proto.Kind.Name(v)) for v in values]


def _resource_types(values: Any) -> list[ResourceType]:
    if any(v == _Proto.RESOURCE_TYPE_UNSPECIFIED for v in values):
        raise InvalidField.of("resource_types", "RESOURCE_TYPE_UNSPECIFIED is not a type")
    return [ResourceType(_Proto.ResourceType.Name(v).lower()) for v in values]


def change(record: Change) -> change_pb2.Change:
    snapshot = struct_pb2.Struct()
    snapshot.update(record.snapshot)
    actor = record.actor
    return _Proto(
        cursor=changes.cursor(record),
        kind=_Proto.Kind.Value(record.kind.value),
        resource_type=_Proto.ResourceType.Value(record.resource_type.value.upper()),
        resource=record.resource,
        snapshot=snapshot,
        changed_fields=record.changed_fields,
        actor=_Proto.Actor(
            credential=actor.credential, method=actor.method, path=actor.path, client=actor.client
        ),
        request_id=record.request_id,
        commit_time=timestamp(record.commit_time),
        seq=record.seq,
    )


def checkpoint(position: Checkpoint) -> _Event.Checkpoint:
    return _Event.Checkpoint(cursor=position.cursor, time=timestamp(position.time))


class ChangeServicer(change_service_pb2_grpc.ChangeServiceServicer):
    def __init__(self, log: Changes, watch: Watch) -> None:
        self._log = log
        self._watch = watch

    async def ListChanges(
        self, request: change_service_pb2.ListChangesRequest, context: Context
    ) -> change_service_pb2.ListChangesResponse:
        slug = names.tenant(request.parent)
        page = await asyncio.to_thread(
            self._log.list,
            caller(),
            slug,
            page_size=request.page_size,
            page_token=request.page_token,
            resource_types=_resource_types(request.resource_types),
            kinds=_kinds(request.kinds),
            start_cursor=request.start_cursor,
        )
        return change_service_pb2.ListChangesResponse(
            changes=[change(c) for c in page.items], next_page_token=page.next_page_token
        )

    async def WatchChanges(
        self, request: change_service_pb2.WatchChangesRequest, context: Context
    ) -> AsyncIterator[change_service_pb2.WatchChangesResponse]:
        events = self._watch.follow(
            caller(),
            names.tenant(request.parent),
            start_cursor=request.start_cursor,
            filters=Filters(_resource_types(request.resource_types), _kinds(request.kinds)),
        )
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, Checkpoint):
                    yield _Event(checkpoint=checkpoint(event))
                else:
                    metrics.delivered(event.commit_time)
                    yield _Event(change=change(event))
