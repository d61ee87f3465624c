"""scim2-server, the in-memory SCIM server a user would pick instead of
Roster, loaded with a dataset and served for the comparison rows.

`python -m bench.scim2_server PORT USERS` builds the dataset's users and
groups as scim2-models resources in-process and hands them to the in-memory
storage at once (its `resources` setter indexes them as its own creates
would), then serves scim2-server's ASGI application with uvicorn, the HTTP
server Roster's facade runs in, with the same event loop and HTTP parser
(uvloop and httptools when installed, as uvicorn picks them) in one
process. Its own `scim2-server` command serves the WSGI application with
the standard library's threaded wsgiref server, which speaks HTTP/1.0 (a
connection per request): 400 GET/s against 1,000 here. It prints
{"ready": ...} once it serves."""

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import uvicorn
from scim2_models import Meta, Resource, ResourceType
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage, InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.utils import load_default_provider

from bench import dataset
from bench.dataset import Dataset

_SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def application(data: Dataset) -> ASGIApplication:
    """scim2-server's ASGI application over an in-memory storage holding `data`."""
    provider = load_default_provider()
    service = ScimService(provider)
    user_type = service.get_resource_type("User")
    group_type = service.get_resource_type("Group")
    storage = InMemoryStorage()
    storage.resources = [
        *(_user(service, user_type, i, storage) for i in range(data.users)),
        *(_group(service, group_type, size, storage) for size in data.group_sizes),
    ]
    return ASGIApplication(AsyncInMemoryStorage(storage), provider, service)


def _resource(
    service: ScimService,
    resource_type: ResourceType,
    document: dict[str, Any],
    storage: InMemoryStorage,
) -> Resource[Any]:
    resource = service.get_model(resource_type).model_validate(document)
    resource.meta = Meta(
        resource_type=resource_type.name,
        created=_SEEDED_AT,
        last_modified=_SEEDED_AT,
        version=storage.next_version(),
    )
    return resource


def _user(
    service: ScimService, user_type: ResourceType, i: int, storage: InMemoryStorage
) -> Resource[Any]:
    document = dataset.scim_user(i) | {"id": dataset.user_id(i)}
    return _resource(service, user_type, document, storage)


def _group(
    service: ScimService, group_type: ResourceType, size: int, storage: InMemoryStorage
) -> Resource[Any]:
    document = {
        "schemas": [dataset.GROUP_SCHEMA],
        "id": dataset.group_id(size),
        "displayName": dataset.group_name(size),
        "externalId": f"ext-group-{size}",
        "members": [{"value": dataset.user_id(i), "type": "User"} for i in range(size)],
    }
    return _resource(service, group_type, document, storage)


async def _serve(config: uvicorn.Config, seeded: float) -> None:
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            raise RuntimeError("uvicorn stopped before serving")
        await asyncio.sleep(0.05)
    print(json.dumps({"ready": True, "seed_seconds": seeded}), flush=True)
    await serving


def main() -> None:
    port, users = int(sys.argv[1]), int(sys.argv[2])
    started = time.perf_counter()
    app = application(Dataset(users))
    seeded = time.perf_counter() - started
    # Quiet, as Roster's processes run in the benchmark (bench/systems.py),
    # on the event loop uvicorn picks as `uvicorn.run` would (asyncio.run
    # alone would not).
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve(config, seeded))


if __name__ == "__main__":
    main()
