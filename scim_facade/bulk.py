"""Bulk operations (RFC 7644 §3.7): the BulkRequest read into operations,
the order they run in, the "bulkId:" references between them, and the
BulkResponse. Each operation runs as the single request it stands for,
through a `Dispatch` (the facade's own routes, in-process), so every rule of
every endpoint holds in a bulk job too, and each status is the one "that
would have been returned if a single HTTP request would have been used".

Where the RFC leaves a choice, the facade answers as scim2-server does:
- Operations run in the order of the request, except that a POST runs before
  the first operation referencing its bulkId (§3.7 allows reordering that
  keeps the client's intent). Results keep the order of the request.
- A reference is a whole string value "bulkId:<id>" in `data`, or the id
  segment of `path`. A reference to a bulkId whose POST failed, that no POST
  declares, or that is in a circular reference fails its operation with 409
  (§3.7.1 allows 409 for circular references).
- failOnErrors=N stops the job once N operations have failed (§3.7.3).
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from scim2_models import BulkOperation, BulkResponse

from scim_facade import discovery
from scim_facade.errors import ScimError, invalid_syntax, invalid_value, unauthorized
from scim_facade.parsing import json_body

RESPONSE_SCHEMA = str(BulkResponse.__schema__)
_PREFIX = "bulkId:"
_METHODS = frozenset(method.value for method in BulkOperation.Method)
# A "bulkId:<id>" string value in compact JSON: its opening quote follows
# ":", "[" or "," (a quote inside a string follows a backslash), and its
# closing one is followed by ",", "}" or "]" (a key's is followed by ":").
_REFERENCE = re.compile(rb'(?<=[:\[,])"bulkId:((?:[^"\\]|\\.)*)"(?=[,}\]])')


@dataclass(frozen=True)
class Reply:
    """What a single request answered: status, Location, ETag and body."""

    status: int
    location: str | None
    etag: str | None
    body: bytes


# (method, path under the SCIM root, JSON body or None, If-Match or None).
Dispatch = Callable[[str, str, bytes | None, str | None], Awaitable[Reply]]


@dataclass(frozen=True)
class Operation:
    """One operation as the client sent it; `error` when it cannot run."""

    method: str | None = None
    path: str | None = None
    bulk_id: str | None = None
    version: str | None = None
    body: bytes | None = None
    error: ScimError | None = None

    @property
    def resource_id(self) -> str | None:
        """The id segment of a valid path ("/Users/{id}")."""
        parts = (self.path or "").split("/")
        return parts[2] if self.error is None and len(parts) == 3 else None

    def references(self) -> list[str]:
        """The bulkIds the operation references, in its data and its path."""
        found = [_bulk_id(match) for match in _REFERENCE.finditer(self.body or b"")]
        if self.resource_id and self.resource_id.startswith(_PREFIX):
            found.append(self.resource_id.removeprefix(_PREFIX))
        return found


@dataclass(frozen=True)
class Job:
    """A BulkRequest's operations, the POST creating each bulkId, the order."""

    operations: list[Operation]
    fail_on_errors: int | None
    creations: dict[str, int]
    order: list[int]


def too_many_operations(limit: int) -> ScimError:
    """§3.7.4: 413, naming the limit exceeded."""
    return ScimError(413, f"The number of operations exceeds the maxOperations ({limit}).")


def payload_too_large(limit: int) -> ScimError:
    """§3.7.4: 413, naming the limit exceeded (the RFC's own words)."""
    return ScimError(413, f"The size of the bulk operation exceeds the maxPayloadSize ({limit}).")


def parse(raw: bytes, max_operations: int) -> Job:
    """The BulkRequest in `raw`: 400 invalidSyntax when it is none, 413
    beyond `max_operations`; an invalid operation fails alone (§3.7.3).
    Attribute names are case-insensitive (RFC 7643 §2.1)."""
    attributes = _by_name(json_body(raw))
    operations = attributes.get("operations")
    if not isinstance(operations, list):
        raise invalid_syntax("a BulkRequest carries an 'Operations' array (RFC 7644 §3.7)")
    if len(operations) > max_operations:
        raise too_many_operations(max_operations)
    return _plan([_operation(op) for op in operations], _fail_on_errors(attributes))


async def run(job: Job, dispatch: Dispatch, base_url: str) -> dict[str, Any]:
    """Run the job's operations and answer the BulkResponse (§3.7.3)."""
    state = _Run(job, dispatch, base_url)
    for index in job.order:
        if state.stopped:
            break
        await state.perform(index)
    results = [state.results[index] for index in sorted(state.results)]
    return {"schemas": [RESPONSE_SCHEMA], "Operations": results}


def _plan(operations: list[Operation], fail_on_errors: int | None) -> Job:
    creations: dict[str, int] = {}
    for index, op in enumerate(operations):
        if op.error is None and op.method == "POST" and op.bulk_id is not None:
            creations.setdefault(op.bulk_id, index)
    dependencies = [[creations[r] for r in op.references() if r in creations] for op in operations]
    return Job(operations, fail_on_errors, creations, _order(dependencies))


def _bulk_id(reference: re.Match[bytes]) -> str:
    bulk_id: str = orjson.loads(b'"' + reference[1] + b'"')
    return bulk_id


def _by_name(attributes: dict[str, Any]) -> dict[str, Any]:
    return {str(name).lower(): value for name, value in attributes.items()}


def _fail_on_errors(attributes: dict[str, Any]) -> int | None:
    value = attributes.get("failonerrors")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid_value("failOnErrors must be a positive integer (RFC 7644 §3.7)")
    return value


def _operation(raw: Any) -> Operation:
    if not isinstance(raw, dict):
        return Operation(error=invalid_syntax("an operation must be a JSON object"))
    op = _by_name(raw)
    method = op.get("method")
    op["method"] = method.upper() if isinstance(method, str) else None
    parsed = Operation(
        method=op["method"],
        path=_target(op.get("path")) or _string(op.get("path")),
        bulk_id=_string(op.get("bulkid")),
        version=_string(op.get("version")),
    )
    error = next(filter(None, (check(op) for check in _CHECKS)), None)
    if error is not None or op["method"] == "DELETE":
        return replace(parsed, error=error)
    try:
        return replace(parsed, body=orjson.dumps(op["data"]))
    except orjson.JSONEncodeError as exc:  # nested deeper than orjson writes
        return replace(parsed, error=invalid_syntax(f"data: {exc}"))


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _target(path: Any) -> str | None:
    """The path as "/{Endpoint}" or "/{Endpoint}/{id}" of a served resource
    type, endpoint names in any case, slashes around tolerated; None if it
    is neither."""
    if not isinstance(path, str) or any(c in path for c in "?#"):
        return None
    parts = path.strip().strip("/").split("/")
    endpoint = _endpoints().get("/" + parts[0].lower())
    if endpoint is None or len(parts) > 2 or (len(parts) == 2 and not parts[1]):
        return None
    return "/".join([endpoint, *parts[1:]])


def _endpoints() -> dict[str, str]:
    return {str(t["endpoint"]).lower(): str(t["endpoint"]) for t in discovery.resource_types()}


def _check_method(op: dict[str, Any]) -> ScimError | None:
    method = op["method"]
    if method is None:
        return invalid_value("method is required: POST, PUT, PATCH or DELETE (RFC 7644 §3.7)")
    if method not in _METHODS:
        return ScimError(405, f"{method} is no bulk operation: POST, PUT, PATCH or DELETE")
    return None


def _check_strings(op: dict[str, Any]) -> ScimError | None:
    for name, shown in (("bulkid", "bulkId"), ("version", "version")):
        if op.get(name) is not None and not isinstance(op[name], str):
            return invalid_value(f"{shown} must be a string")
    if op["method"] == "POST" and not op.get("bulkid"):
        return invalid_value("bulkId is required when method is POST (RFC 7644 §3.7)")
    return None


def _check_path(op: dict[str, Any]) -> ScimError | None:
    path = op.get("path")
    if not isinstance(path, str):
        return invalid_value("path is required (RFC 7644 §3.7)")
    target = _target(path)
    if target is None:
        served = ", ".join(_endpoints().values())
        return ScimError(
            400, f"path {path!r} is none of {served} or one of their resources", "invalidPath"
        )
    if (op["method"] == "POST") == (target.count("/") == 2):
        # §3.7: a POST names an endpoint (/Users), the others a resource.
        return ScimError(405, f"{op['method']} is not allowed on {path}")
    return None


def _check_data(op: dict[str, Any]) -> ScimError | None:
    if op["method"] == "DELETE":
        return None
    if op.get("data") is None:
        return invalid_value("data is required when method is POST, PUT or PATCH (RFC 7644 §3.7)")
    if not isinstance(op["data"], dict):
        return invalid_syntax("data must be a JSON object")
    return None


_CHECKS = (_check_method, _check_strings, _check_path, _check_data)


def _order(dependencies: list[list[int]]) -> list[int]:
    """Request order, but each operation after the POSTs it references:
    depth first, without recursion. An operation of a cycle is placed before
    the POST it references, and its reference fails."""
    order: list[int] = []
    placed: set[int] = set()
    for root in range(len(dependencies)):
        stack = [root]
        while stack:
            index = stack[-1]
            waiting = [d for d in dependencies[index] if d not in placed and d not in stack]
            if waiting and index not in placed:
                stack.append(waiting[0])
                continue
            stack.pop()
            if index not in placed:
                placed.add(index)
                order.append(index)
    return order


class _Run:
    """One run of a job: the results so far and the ids of created bulkIds."""

    def __init__(self, job: Job, dispatch: Dispatch, base_url: str) -> None:
        self.job, self.dispatch, self.base_url = job, dispatch, base_url
        self.results: dict[int, dict[str, Any]] = {}
        self.created: dict[str, str] = {}
        self.failures = 0
        self.stopped = False

    async def perform(self, index: int) -> None:
        op = self.job.operations[index]
        path: str | None
        try:
            path, body = self._resolved(index, op)
        except ScimError as refused:
            path, reply = op.path, Reply(refused.status, None, None, orjson.dumps(refused.body()))
        else:
            reply = await self.dispatch(str(op.method), path, body, op.version)
        if reply.status == 401 and not self.results:
            # The job's credential, not this operation, is refused (§3.12).
            raise unauthorized(str(_error(reply).get("detail", "invalid credential")))
        self._record(index, op, path, reply)

    def _resolved(self, index: int, op: Operation) -> tuple[str, bytes | None]:
        """The operation's path and body with its references replaced."""
        if op.error is not None:
            raise op.error
        if op.method == "POST" and self.job.creations.get(str(op.bulk_id)) != index:
            raise invalid_value(f"bulkId {op.bulk_id!r} is not unique in the request (§3.7)")
        path = str(op.path)
        if op.resource_id and op.resource_id.startswith(_PREFIX):
            path = path.rsplit("/", 1)[0] + "/" + self._id(op.resource_id.removeprefix(_PREFIX))
        body = op.body and _REFERENCE.sub(self._json_id, op.body)
        return path, body

    def _json_id(self, reference: re.Match[bytes]) -> bytes:
        return orjson.dumps(self._id(_bulk_id(reference)))

    def _id(self, bulk_id: str) -> str:
        """The id created for `bulk_id`, or the 409 of its operation."""
        if bulk_id in self.created:
            return self.created[bulk_id]
        creation = self.job.creations.get(bulk_id)
        if creation is None:
            raise ScimError(409, f"no POST of this bulk request has the bulkId {bulk_id!r}")
        if creation in self.results:
            raise ScimError(409, f"the POST of bulkId {bulk_id!r} failed")
        raise ScimError(409, f"bulkId {bulk_id!r} is in a circular reference (RFC 7644 §3.7.1)")

    def _record(self, index: int, op: Operation, path: str | None, reply: Reply) -> None:
        """One result, laid out as in §3.7.3: every one has the location of
        its resource but a failed POST; a failure carries its SCIM error as
        `response` and counts for failOnErrors; a refused credential would
        refuse every further operation, so it ends the job."""
        failed = reply.status >= 400
        if op.method == "POST":
            location = None if failed else reply.location
            if location:
                self.created[str(op.bulk_id)] = location.rsplit("/", 1)[-1]
        else:
            location = None if path is None else f"{self.base_url}/{path.lstrip('/')}"
        result = {"location": location, "method": op.method, "bulkId": op.bulk_id}
        result = {k: v for k, v in {**result, "version": reply.etag}.items() if v is not None}
        self.results[index] = {**result, "status": str(reply.status)}
        if failed:
            self.results[index]["response"] = _error(reply)
            self.failures += 1
        limit = self.job.fail_on_errors
        self.stopped = reply.status == 401 or (limit is not None and self.failures >= limit)


def _error(reply: Reply) -> dict[str, Any]:
    """The SCIM error a failed operation answered (§3.12)."""
    try:
        body = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        return body
    return ScimError(reply.status, "the operation failed").body()
