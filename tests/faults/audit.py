"""After a crash: what the load was told succeeded is there, nothing is half
applied, and the change log matches the data. Read in-process, through the
service layer and the change-log table, from the same database."""

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from identity_service.domain.models import Caller, Scope
from identity_service.service import snapshots
from identity_service.service.groups import Groups
from identity_service.service.users import Users
from identity_service.store.engine import Database
from identity_service.store.schema import ChangeRow, TenantRow
from tests.faults.load import Acknowledged, group_name

AUDITOR = Caller("test-auditor", None, None, frozenset({Scope.ADMIN, Scope.READ}))
_MEMBER_KINDS = {"MEMBER_ADDED": True, "MEMBER_REMOVED": False}


def change_log(database: Database, slug: str) -> list[ChangeRow]:
    """Every change record of the tenant, in seq order."""
    changes, tenants = ChangeRow.__table__, TenantRow.__table__  # type: ignore[attr-defined]
    tenant_id = sa.select(tenants.c.id).where(tenants.c.slug == slug).scalar_subquery()
    query = sa.select(changes).where(changes.c.tenant_id == tenant_id).order_by(changes.c.seq)
    with database.read() as conn:
        return list(conn.execute(query))  # type: ignore[arg-type]


def members(database: Database, slug: str, group_id: str) -> set[str]:
    _, page = Groups(database).list_members(AUDITOR, slug, group_id, page_size=1000, page_token="")
    return {member.id for member in page.items}


def check_worker(database: Database, slug: str, worker: int, done: Acknowledged) -> None:
    """Every acknowledged write of one worker is there, and whole."""
    users = Users(database)
    for user_id in done.users.values():
        users.get(AUDITOR, slug, user_id)  # NOT_FOUND would raise
    anchor = users.get(AUDITOR, slug, done.anchor_id)
    step = int((anchor.display_name or "v0")[1:])
    assert step >= done.last_anchor_step, (anchor, done)
    # The three operations of one PATCH: all applied or none.
    expected = f"v{step}" if step else None
    values = [anchor.display_name, *(anchor.attributes.get(a) for a in ("title", "nickName"))]
    assert values == [expected] * 3, anchor
    group = Groups(database).get(AUDITOR, slug, done.group_id)
    renamed = int(group.display_name.rpartition("-")[2])
    assert group.display_name == group_name(worker, renamed)
    assert renamed >= max(done.group_steps, default=0), (group, done)
    found = members(database, slug, done.group_id)
    # Adding step i's user and renaming the group to i are one request.
    assert {done.users[i] for i in done.group_steps} <= found
    assert renamed == 0 or done.users.get(renamed) in found or renamed not in done.users
    later = {done.users[i] for i in done.users if i > renamed}
    assert not found & later, (renamed, found & later)


def check_change_log(database: Database, slug: str) -> None:
    """Seqs 1..n without gaps; the last snapshot of each user and group is
    the resource as stored; the member records replay to the member lists."""
    records = change_log(database, slug)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    last: dict[tuple[str, str], dict[str, Any]] = {}
    replayed: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record.kind in _MEMBER_KINDS:
            _replay(replayed[record.resource_id], record)
        elif record.resource_type in ("user", "group"):
            last[(record.resource_type, record.resource_id)] = record.snapshot
    for (kind, resource_id), snapshot in last.items():
        service = Users(database) if kind == "user" else Groups(database)
        stored = snapshots.dump(service.get(AUDITOR, slug, resource_id))
        if kind == "group":  # member records do not repeat the group's snapshot
            stored.pop("member_count"), snapshot.pop("member_count")
            assert replayed[resource_id] == members(database, slug, resource_id)
        assert snapshot == stored, (kind, resource_id)


def _replay(group_members: set[str], record: ChangeRow) -> None:
    member = str(record.snapshot["member"]).rpartition("/")[2]
    if _MEMBER_KINDS[record.kind]:
        group_members.add(member)
    else:
        group_members.discard(member)


def created_ids(database: Database, slug: str) -> set[str]:
    return {r.resource_id for r in change_log(database, slug) if r.kind == "USER_CREATED"}


def check(database: Database, slug: str, acknowledged: list[Acknowledged]) -> None:
    """The whole audit: every failure a 503 or no answer (never a 500), each
    worker's writes, then the change log."""
    for worker, done in enumerate(acknowledged):
        assert set(done.failures) <= {503, None}, done.failures
        check_worker(database, slug, worker, done)
        assert set(done.users.values()) <= created_ids(database, slug)
    check_change_log(database, slug)
