"""A membership change touches only the rows it changes: adding one member to a
group of 50,000 costs what it costs for a group of ten (DESIGN.md, "Group
membership is a delta"). Cost is counted, never timed: the SQL statements, the
rows each one changes, and the work they make the database do, which grows
with every row a statement reads (SQLite's virtual-machine instructions;
PostgreSQL's count of rows its scans read)."""

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa

from identity_service.domain.models import (
    Caller,
    ListQuery,
    MemberRef,
    MemberType,
    NewUser,
    Scope,
    now,
)
from identity_service.service.groups import Groups
from identity_service.service.tenants import OPERATOR, Tenants
from identity_service.service.users import Users
from identity_service.store.engine import Database, fold
from identity_service.store.schema import GroupRow, MembershipRow, UserRow

LARGE = 50_000
SMALL = 10
_WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Seeded:
    """A tenant holding one group with `size` user members."""

    caller: Caller
    group_id: str
    member_ids: list[str]

    @property
    def slug(self) -> str:
        assert self.caller.tenant_slug is not None
        return self.caller.tenant_slug


def _seed(db: Database, size: int) -> Seeded:
    """A fresh tenant with `size` users, all members of one group, written in
    bulk straight into the tables, with the member count they make."""
    slug = f"t-{uuid.uuid4().hex[:12]}"
    tenant = Tenants(db).create(OPERATOR, slug)
    at = now()
    user_ids = [str(uuid.uuid4()) for _ in range(size)]
    group_id = str(uuid.uuid4())
    users = [
        {
            "tenant_id": tenant.id,
            "id": user_id,
            "user_name": f"user{i}",
            "user_name_key": fold(f"user{i}"),
            "state": "ACTIVE",
            "attributes": {},
            "version": 1,
            "create_time": at,
            "update_time": at,
        }
        for i, user_id in enumerate(user_ids)
    ]
    group = {
        "tenant_id": tenant.id,
        "id": group_id,
        "display_name": "Everyone",
        "display_name_key": fold("Everyone"),
        "member_count": size,
        "version": 1,
        "create_time": at,
        "update_time": at,
    }
    members = [
        {
            "tenant_id": tenant.id,
            "group_id": group_id,
            "member_id": user_id,
            "member_type": "USER",
            "create_time": at,
        }
        for user_id in user_ids
    ]
    with db.write() as conn:
        conn.execute(_table(UserRow).insert(), users)
        conn.execute(_table(GroupRow).insert(), group)
        conn.execute(_table(MembershipRow).insert(), members)
    caller = Caller("seed", tenant.id, tenant.slug, frozenset({Scope.SCIM}))
    if db.is_postgresql:  # statistics, as autovacuum keeps them
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return Seeded(caller, group_id, user_ids)


def _table(row: type[Any]) -> sa.Table:
    table: sa.Table = row.__table__
    return table


@pytest.fixture(scope="module")
def large(db: Database) -> Seeded:
    """One group of 50,000 members, seeded once for the module; each test
    changes different members of it."""
    return _seed(db, LARGE)


@pytest.fixture
def small(db: Database) -> Seeded:
    return _seed(db, SMALL)


@dataclass
class Cost:
    """What one operation made the database do, in this thread."""

    statements: list[str] = field(default_factory=list)
    rowcounts: list[int] = field(default_factory=list)
    instructions: int = 0
    noise: int = 0

    def costs_about(self, other: "Cost") -> bool:
        """At most 10% more work than `other`; on PostgreSQL give or take
        rows other backends report late into the same views (a few dozen;
        a scan of the 50,000 members would add 50,000)."""
        return self.instructions <= other.instructions * 1.1 + self.noise

    def rows_written(self) -> list[int]:
        """Rows written per statement, the change log aside: it gets one row
        per change record, which the resource's size does not change."""
        return [
            count
            for sql, count in zip(self.statements, self.rowcounts, strict=True)
            if sql.lstrip().upper().startswith(_WRITES) and "INTO changes" not in sql
        ]


@contextmanager
def counted(engine: sa.Engine) -> Iterator[Cost]:
    """Record the statements run from this thread, their rowcounts, and the
    work they made the database do: on SQLite the VM instructions spent (a
    progress handler ticking on each one), on PostgreSQL the rows its scans
    read (the statistics views, flushed on purpose before and after)."""
    cost = Cost()
    thread = threading.get_ident()
    connections: set[Any] = set()
    sqlite = engine.dialect.name == "sqlite"

    def tick() -> int:
        cost.instructions += 1
        return 0

    def before(_conn: Any, cursor: Any, *_args: Any) -> None:
        if threading.get_ident() == thread and cursor.connection not in connections:
            if sqlite:
                cursor.connection.set_progress_handler(tick, 1)
            connections.add(cursor.connection)

    def after(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == thread:
            cost.statements.append(statement)
            cost.rowcounts.append(cursor.rowcount)

    read_before = 0 if sqlite else _rows_read(engine, ())
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield cost
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
        if sqlite:
            for connection in connections:
                connection.set_progress_handler(None, 1)
        else:
            cost.instructions = _rows_read(engine, connections) - read_before
            cost.noise = 500


def _rows_read(engine: sa.Engine, used: Iterable[Any]) -> int:
    """Every row PostgreSQL's scans have read in this database so far. A
    backend reports its counts when it goes idle, at most once a second
    unless told to flush: each connection that did the work is told (it
    sits idle in the pool now), and so is the one that reads the views."""
    for connection in used:
        connection.execute("SELECT pg_stat_force_next_flush()")
        connection.commit()
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
        conn.commit()
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        read = conn.exec_driver_sql(
            "SELECT sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))"
            " FROM pg_stat_user_tables"
        ).scalar_one()
        conn.commit()
    return int(read or 0)


# Prepares an operation on a seeded tenant, and returns it to be measured.
Prepare = Callable[[Database, Seeded], Callable[[], object]]


def _member_rows(db: Database, seeded: Seeded) -> int:
    table = _table(MembershipRow)
    query = sa.select(sa.func.count()).where(table.c.group_id == seeded.group_id)
    with db.read() as conn:
        count: int = conn.execute(query).scalar_one()
    return count


def _new_user(db: Database, seeded: Seeded) -> MemberRef:
    user = Users(db).create(seeded.caller, seeded.slug, NewUser(f"new-{uuid.uuid4().hex[:8]}"))
    return MemberRef(MemberType.USER, user.id)


def _add_user(db: Database, seeded: Seeded) -> Callable[[], object]:
    ref = _new_user(db, seeded)
    return lambda: Groups(db).add_members(seeded.caller, seeded.slug, seeded.group_id, [ref])


def _add_group(db: Database, seeded: Seeded) -> Callable[[], object]:
    """A group member, which also makes the change check for cycles."""
    nested = Groups(db).create(seeded.caller, seeded.slug, f"nested-{uuid.uuid4().hex[:8]}")
    ref = MemberRef(MemberType.GROUP, nested.id)
    return lambda: Groups(db).add_members(seeded.caller, seeded.slug, seeded.group_id, [ref])


def _remove_member(db: Database, seeded: Seeded) -> Callable[[], object]:
    member_id = seeded.member_ids.pop()
    return lambda: Groups(db).remove_members(
        seeded.caller, seeded.slug, seeded.group_id, [member_id]
    )


def _delete_member(db: Database, seeded: Seeded) -> Callable[[], object]:
    """DeleteUser takes the user out of its groups."""
    member_id = seeded.member_ids.pop()
    return lambda: Users(db).delete(seeded.caller, seeded.slug, member_id)


# Each prepares a change on a seeded group, returning the change to measure
# and the member count it leaves relative to before.
CHANGES: dict[str, tuple[Prepare, int]] = {
    "AddMembers(user)": (_add_user, +1),
    "AddMembers(group)": (_add_group, +1),
    "RemoveMembers": (_remove_member, -1),
    "DeleteUser of a member": (_delete_member, -1),
}


def _measure(db: Database, seeded: Seeded, prepare: Prepare) -> Cost:
    change = prepare(db, seeded)
    with counted(db.engine) as cost:
        change()
    return cost


def _attempts(db: Database) -> int:
    """How often to measure the large case. SQLite's count is exact; on
    PostgreSQL other backends can report rows late into the same views,
    which only ever adds: the least of three measures is the operation's."""
    return 3 if db.is_postgresql else 1


def _least(db: Database, seeded: Seeded, prepare: Prepare) -> Cost:
    costs = [_measure(db, seeded, prepare) for _ in range(_attempts(db))]
    return min(costs, key=lambda cost: cost.instructions)


def _memberships(transitive: bool) -> Prepare:
    """ListMemberships of a member of the seeded group."""

    def prepare(db: Database, seeded: Seeded) -> Callable[[], object]:
        member = MemberRef(MemberType.USER, seeded.member_ids[0])
        return lambda: Groups(db).list_memberships(
            seeded.caller, seeded.slug, member, transitive=transitive, page_size=0, page_token=""
        )

    return prepare


READS: dict[str, Prepare] = {
    "ListMemberships": _memberships(transitive=False),
    "ListMemberships(transitive)": _memberships(transitive=True),
}


def test_the_seeded_group_counts_its_members(db: Database, large: Seeded) -> None:
    """The bulk seed leaves member_count equal to the membership rows."""
    group = Groups(db).get(large.caller, large.slug, large.group_id)

    assert group.member_count == _member_rows(db, large) >= LARGE - len(CHANGES) * _attempts(db)


@pytest.mark.parametrize(("prepare", "delta"), CHANGES.values(), ids=CHANGES.keys())
def test_a_membership_change_costs_the_same_in_a_group_of_50000_as_of_10(
    db: Database,
    large: Seeded,
    small: Seeded,
    prepare: Prepare,
    delta: int,
) -> None:
    """Same statements as for 10 members, each writing at most one row, reading no more."""
    before = Groups(db).get(large.caller, large.slug, large.group_id)

    in_small = _measure(db, small, prepare)
    in_large = _least(db, large, prepare)

    assert in_large.statements == in_small.statements
    assert in_large.rowcounts == in_small.rowcounts
    assert in_large.rows_written(), "the change wrote nothing"
    assert max(in_large.rows_written()) <= 1
    # Index seeks cost the same few instructions at any size; a scan of the
    # 50,000 members would cost hundreds of thousands more.
    assert in_large.costs_about(in_small)
    after = Groups(db).get(large.caller, large.slug, large.group_id)
    changed = delta * _attempts(db)
    assert after.member_count == before.member_count + changed == _member_rows(db, large)
    assert after.etag != before.etag


@pytest.mark.parametrize("prepare", READS.values(), ids=READS.keys())
def test_the_groups_of_a_member_cost_the_same_in_a_tenant_of_50000_members_as_of_10(
    db: Database, large: Seeded, small: Seeded, prepare: Prepare
) -> None:
    """RFC 7643 §4.1.2 User.groups reads the user's membership rows, not the tenant's."""
    in_small = _measure(db, small, prepare)
    in_large = _least(db, large, prepare)

    assert in_large.statements == in_small.statements
    assert in_large.costs_about(in_small)


def _members_page(
    db: Database, seeded: Seeded, token: str, page_size: int = 100
) -> tuple[Cost, str]:
    """The cost of one ListMembers page, and the token of the next."""
    with counted(db.engine) as cost:
        _, page = Groups(db).list_members(
            seeded.caller, seeded.slug, seeded.group_id, page_size=page_size, page_token=token
        )
    return cost, page.next_page_token


def test_a_deep_page_of_members_costs_what_the_first_page_costs(
    db: Database, large: Seeded
) -> None:
    """AIP-158: a deep page starts at its key rather than skipping the members before it."""
    first, token = _members_page(db, large, "")
    for _ in range(4):  # 40,000 members further on
        _, token = _members_page(db, large, token, page_size=10_000)
    deep, _ = _members_page(db, large, token)

    assert len(deep.statements) == len(first.statements)
    assert deep.costs_about(first)


def test_a_deep_positional_page_of_a_sweep_costs_what_the_first_page_costs(
    db: Database, large: Seeded
) -> None:
    """An IdP's import sweeps startIndex 1, 1001, 2001, ...: each page
    starts where the one before ended instead of skipping every user before
    it (OFFSET 40,000 would read 40,000 rows)."""
    users = Users(db)  # one instance, as the server holds it

    def page(skip: int, size: int) -> Cost:
        with counted(db.engine) as cost:
            users.list(large.caller, large.slug, ListQuery(page_size=size, skip=skip))
        return cost

    page(0, 100)  # counts the users once; later pages reuse the count
    first = page(0, 100)
    for skip in range(0, 40_000, 1_000):  # the largest page is 1,000
        page(skip, 1_000)
    deep = page(40_000, 100)

    assert len(deep.statements) == len(first.statements)
    assert deep.costs_about(first)
