"""Paging through every user as an IdP's import does: one request at a
time, count=100, by startIndex (Okta) and by cursor (RFC 9865).

A sweep of 1,000,000 users is 10,000 pages. By default the sweep is
sampled: its first `pages` pages, and its last `pages` pages entered by a
jump (the jump itself is the warm-up call and is not counted), each walked
sequentially as the IdP would; BENCH_SWEEP=full walks every page and
compares the first and last `pages` of that one walk. The end of a cursor
sweep is entered with identity.v1's page token after a skip (the facade's
cursor is that token). Random jumps (startIndex 999,901, then 999,701, ...:
never the page after the previous one) are measured on their own."""

import json
import time
from urllib.parse import quote

from identity.v1 import user_service_pb2, user_service_pb2_grpc

from bench.direct import channel
from bench.load import Call, summary
from bench.runner import Row, Session

PAGE = 100


def _index_page(start_index: int) -> str:
    return f"/Users?startIndex={start_index}&count={PAGE}"


async def run(session: Session, pages: int, *, full: bool) -> list[Row]:
    """The startIndex and cursor sweeps, and the jump."""
    users = session.system.dataset.users
    last = users - PAGE + 1
    rows = [
        await _index_sweep(session, pages, 1, "start"),
        await _index_sweep(session, pages, users - (pages + 1) * PAGE + 1, "end"),
    ]
    rows.append(
        await session.measure(
            "page_index_jump_end",
            f"jump to startIndex={last:,} (then 2 pages back each call)",
            _jumps(session, last),
            concurrency=1,
        )
    )
    rows.append(await _cursor_sweep(session, pages, "", "start"))
    end_token = await _token_after(session, users - (pages + 2) * PAGE)
    rows.append(await _cursor_sweep(session, pages, end_token, "end"))
    if full:
        rows += await _full_sweep(session, pages)
    return rows


def _jumps(session: Session, last: int) -> Call:
    """Deep pages, none the page after the one before (which a server may
    continue from): startIndex `last`, then two pages back each call."""

    async def call(n: int) -> object:
        return await session.http.request("GET", _index_page(max(1, last - 2 * PAGE * n)))

    return call


async def _index_sweep(session: Session, pages: int, first: int, where: str) -> Row:
    """`pages` + 1 sequential pages from startIndex `first`; the first is
    the warm-up (at the end: the jump there)."""

    async def call(n: int) -> object:
        return await session.http.request("GET", _index_page(first + n * PAGE))

    return await session.measure(
        f"page_index_{where}",
        f"Okta sweep page, startIndex at the {where}",
        call,
        limit=pages + 1,
        concurrency=1,
        warmup_calls=1,
    )


async def _cursor_sweep(session: Session, pages: int, first: str, where: str) -> Row:
    """`pages` + 1 sequential pages following nextCursor from `first`."""
    cursor = [first]

    async def call(_: int) -> object:
        response = await session.http.request(
            "GET", f"/Users?count={PAGE}&cursor={quote(cursor[0])}"
        )
        cursor[0] = json.loads(response.body).get("nextCursor", "")
        return response

    return await session.measure(
        f"page_cursor_{where}",
        f"cursor sweep page at the {where}",
        call,
        limit=pages + 1,
        concurrency=1,
        warmup_calls=1,
    )


async def _token_after(session: Session, skip: int) -> str:
    """identity.v1's page token for the page after `skip` + PAGE users."""
    system = session.system
    auth = (("authorization", f"Bearer {system.secret}"),)
    async with channel(system.grpc_target) as opened:
        stub = user_service_pb2_grpc.UserServiceStub(opened)
        request = user_service_pb2.ListUsersRequest(parent="tenants/-", page_size=PAGE, skip=skip)
        response = await stub.ListUsers(request, metadata=auth)
    token: str = response.next_page_token
    return token


async def _full_sweep(session: Session, pages: int) -> list[Row]:
    """Every page by startIndex, in one walk; its first and last `pages`."""
    users = session.system.dataset.users
    latencies: list[float] = []
    meter = session.meter()
    for start_index in range(1, users + 1, PAGE):
        sent = time.perf_counter()
        await session.http.request("GET", _index_page(start_index))
        latencies.append(time.perf_counter() - sent)
    cpu = meter.stop()
    parts = {"start": latencies[:pages], "end": latencies[-pages:]}
    return [
        session.record(
            f"page_index_full_{where}",
            f"full Okta sweep ({len(latencies):,} pages), {pages} pages at the {where}",
            1,
            summary(part, sum(part)),
            cpu,
        )
        for where, part in parts.items()
    ]
