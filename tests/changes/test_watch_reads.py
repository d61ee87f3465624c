"""How a stream reads the log once it has caught up: a wake-up reads a
small page (on SQLite on the event loop), and a burst larger than that page
still arrives whole, in order, each record once."""

import asyncio

import pytest

from identity_service.domain.changes import Change, ChangeKind, Checkpoint
from identity_service.service import changes, watch
from identity_service.service.access import Access
from identity_service.service.feed import Feed
from identity_service.service.watch import Event, Filters, Watch
from identity_service.store.engine import Database
from tests.helpers import TenantAccess, new_credential

_BURST = 10


def test_a_burst_larger_than_a_wake_up_page_arrives_whole_and_in_order(
    db: Database, tenant: TenantAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "_CAUGHT_UP_PAGE", 3)
    caller = Access(db).authenticate(new_credential(db, tenant.slug, ("watch",)))

    async def follow() -> tuple[list[Change], Event]:
        feed = Feed(db, poll_seconds=3600)
        feed.open()
        try:
            events = Watch(db, feed, checkpoint_seconds=0.5).follow(
                caller, "-", start_cursor="", filters=Filters()
            )
            assert isinstance(await anext(events), Checkpoint)  # caught up
            # The stream is suspended: the whole burst commits before it reads.
            for _ in range(_BURST):
                new_credential(db, tenant.slug, ("read",))
            received = [await asyncio.wait_for(anext(events), 5) for _ in range(_BURST)]
            after = await asyncio.wait_for(anext(events), 5)
            await events.aclose()
            return [c for c in received if isinstance(c, Change)], after
        finally:
            await feed.close()

    received, after = asyncio.run(follow())

    seqs = [c.seq for c in received]
    assert seqs == list(range(seqs[0], seqs[0] + _BURST))
    assert [c.kind for c in received] == [ChangeKind.CREDENTIAL_CREATED] * _BURST
    assert isinstance(after, Checkpoint)
    assert after.cursor == changes.cursor(received[-1])
