"""Roster scaled out (issue 5): two identity_service processes and two
scim_facade processes on one PostgreSQL database, each facade in front of
its own replica, and SCIM traffic through both facades at once from a pool
of threads. Every userName race ends with exactly one winner, no member
change is lost, every deactivation sticks, and a watcher on each replica
sees the same complete, ordered change log, which agrees with the data; a
commit on one replica wakes the other's watchers (LISTEN/NOTIFY)."""

import itertools
import queue
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from threading import Barrier
from typing import Any, TypeVar

import grpc
import pytest
from identity.v1 import change_pb2, change_service_pb2_grpc

from identity_service.store.engine import Database
from tests.changes.streams import Stream
from tests.changes.support import Log, snapshot
from tests.helpers import new_credential, new_tenant
from tests.postgres import Postgres
from tests.processes import Processes
from tests.replicas import (
    GROUP,
    USER,
    Answer,
    Scim,
    identity_services,
    migrate,
    patch_body,
    scim_facades,
)

Change = change_pb2.Change
Kind = change_pb2.Change.Kind
Plan = tuple[str, ...]
Task = Callable[[], list[Answer]]
T = TypeVar("T")
THREADS = 16
# Each race: spellings of one userName that differ only in case or Unicode
# normalisation (NFC, NFD, the Angstrom sign), all created at once, each
# through both facades. RFC 7643 §4.1.1: userName is unique, caseExact=false.
RACES = {
    "alice": ("Alice", "ALICE", "alice", "aLiCe"),
    "carol@example.com": (
        "carol@example.com",
        "Carol@Example.com",
        "CAROL@EXAMPLE.COM",
        "cArOl@example.COM",
    ),
    "zo\u00eb": ("Zo\u00eb", "Zoe\u0308", "ZO\u00cb", "zoe\u0308"),
    "\u00e5ngstr\u00f6m": (
        "\u00c5ngstr\u00f6m",
        "A\u030angstro\u0308m",
        "\u212bngstr\u00f6m",
        "\u00e5NGSTR\u00d6M",
    ),
}
# A member's PATCHes on the one group, in order (each through the other
# facade than the one before); the members of the four plans take turns.
# Removing a non-member and re-adding a member are no-ops (identity.v1).
PLANS: tuple[Plan, ...] = (
    ("add",),
    ("add", "remove"),
    ("add", "remove", "add"),
    ("remove", "add", "remove"),
)
MEMBERS = 40
LEAVERS = 12


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _effective(plan: Plan) -> list[str]:
    """The member changes a plan makes, starting from a non-member."""
    member, changes = False, []
    for op in plan:
        if (op == "add") != member:
            member = op == "add"
            changes.append("MEMBER_ADDED" if member else "MEMBER_REMOVED")
    return changes


@dataclass(frozen=True)
class Cluster:
    """The tenant's IdP on both facades; each replica's change log (index 0:
    replica A, behind facade 0)."""

    scim: Scim
    logs: tuple[Log, Log]
    slug: str


@dataclass(frozen=True)
class Traffic:
    """What the concurrent traffic sent and got, and the watchers opened before it."""

    cluster: Cluster
    streams: tuple[Stream, Stream]
    starts: tuple[str, str]
    group_id: str
    members: dict[str, Plan]
    leavers: list[str]
    creates: dict[str, list[Answer]]
    member_patches: list[Answer]
    deactivations: list[Answer]
    # The log after the watchers' start, listed through replica A right after the traffic.
    records: list[Change]

    @property
    def expected_members(self) -> set[str]:
        return {user for user, plan in self.members.items() if plan[-1] == "add"}


@pytest.fixture(scope="module")
def cluster(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Migrate, a tenant with a "scim" and a "watch" credential, then two
    identity_service replicas and a facade in front of each."""
    url = postgres.database()
    migrate(url)
    db = Database.from_url(url)
    try:
        tenant = new_tenant(db)
        watch = (("authorization", f"Bearer {new_credential(db, tenant.slug, ('watch',))}"),)
    finally:
        db.dispose()
    processes = Processes(tmp_path_factory.mktemp("replicas"))
    with ExitStack() as stack:
        stack.callback(processes.kill_all)
        targets = identity_services(processes, url, 2)
        base_urls = tuple(scim_facades(processes, targets))
        channels = [stack.enter_context(grpc.insecure_channel(t)) for t in targets]
        a, b = (
            Log(change_service_pb2_grpc.ChangeServiceStub(c), "tenants/-", watch) for c in channels
        )
        scim = Scim(base_urls, tenant.secret)
        stack.callback(scim.close)
        yield Cluster(scim, (a, b), tenant.slug)


def _run(tasks: list[Callable[[], T]]) -> list[T]:
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(task) for task in tasks]
        return [future.result(timeout=60) for future in futures]


def _create(scim: Scim, facade: int, user_name: str, barrier: Barrier | None = None) -> Answer:
    if barrier is not None:
        barrier.wait()
    return scim.call(facade, "POST", "/Users", {"schemas": [USER], "userName": user_name})


def _racing(scim: Scim, facade: int, user_name: str, barrier: Barrier) -> list[Answer]:
    return [_create(scim, facade, user_name, barrier)]


def _member_patch(op: str, user_id: str) -> dict[str, Any]:
    if op == "add":
        return patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})
    return patch_body({"op": "remove", "path": f'members[value eq "{user_id}"]'})


def _follow_plan(scim: Scim, group_id: str, user_id: str, plan: Plan, first: int) -> list[Answer]:
    path = f"/Groups/{group_id}"
    return [
        scim.call((first + step) % 2, "PATCH", path, _member_patch(op, user_id))
        for step, op in enumerate(plan)
    ]


def _deactivate(scim: Scim, facade: int, user_id: str) -> list[Answer]:
    """Facade 0 gets the path form, facade 1 Okta's no-path form."""
    if facade == 0:
        operation = {"op": "replace", "path": "active", "value": False}
    else:
        operation = {"op": "replace", "value": {"active": False}}
    return [scim.call(facade, "PATCH", f"/Users/{user_id}", patch_body(operation))]


def _open_watchers(cluster: Cluster) -> tuple[tuple[Stream, Stream], tuple[str, str]]:
    """A stream on each replica from "now", and the cursor each starts at
    (its first checkpoint, sent once the empty backlog is delivered)."""
    streams = (cluster.logs[0].watch(), cluster.logs[1].watch())
    starts = []
    for stream in streams:
        backlog, checkpoint = stream.until_checkpoint(timeout=10)
        assert backlog == [], "a stream from now delivered a backlog"
        starts.append(checkpoint.cursor)
    return streams, (starts[0], starts[1])


def _set_up(cluster: Cluster) -> tuple[str, list[str], list[str]]:
    """The group, its would-be members and the users to deactivate."""
    scim = cluster.scim
    group = scim.call(0, "POST", "/Groups", {"schemas": [GROUP], "displayName": "replicas"})
    assert group.status == 201, group
    names = [f"member-{i:02d}" for i in range(MEMBERS)] + [
        f"leaver-{i:02d}" for i in range(LEAVERS)
    ]
    created = _run([partial(_create, scim, i % 2, n) for i, n in enumerate(names)])
    assert all(a.status == 201 for a in created), [str(a) for a in created if a.status != 201]
    ids = [a.body["id"] for a in created]
    return group.body["id"], ids[:MEMBERS], ids[MEMBERS:]


def _units(
    scim: Scim, group_id: str, members: dict[str, Plan], leavers: list[str]
) -> list[list[Task]]:
    """The traffic, in units: a race's creates stay together (they meet at a
    barrier, so they must be taken from the pool's FIFO queue together)."""
    units: list[list[Task]] = []
    for spellings in RACES.values():
        barrier = Barrier(2 * len(spellings), timeout=30)
        units.append([partial(_racing, scim, f, s, barrier) for s in spellings for f in (0, 1)])
    for i, (user_id, plan) in enumerate(members.items()):
        units.append([partial(_follow_plan, scim, group_id, user_id, plan, i % 2)])
    for user_id in leavers:
        units.append([partial(_deactivate, scim, f, user_id) for f in (0, 1)])
    random.Random(5).shuffle(units)
    return units


@pytest.fixture(scope="module")
def traffic(cluster: Cluster) -> Iterator[Traffic]:
    streams, starts = _open_watchers(cluster)
    try:
        group_id, member_ids, leavers = _set_up(cluster)
        members = {user: PLANS[i % len(PLANS)] for i, user in enumerate(member_ids)}
        units = _units(cluster.scim, group_id, members, leavers)
        answers = list(itertools.chain.from_iterable(_run(list(itertools.chain(*units)))))
        creates: dict[str, list[Answer]] = {key: [] for key in RACES}
        for answer in answers:
            if answer.method == "POST":
                creates[_fold(answer.sent["userName"])].append(answer)
        yield Traffic(
            cluster,
            streams,
            starts,
            group_id,
            members,
            leavers,
            creates,
            [a for a in answers if a.path.startswith("/Groups/")],
            [a for a in answers if a.method == "PATCH" and a.path.startswith("/Users/")],
            cluster.logs[0].since(starts[0]),
        )
    finally:
        for stream in streams:
            stream.cancel()


def _lines(answers: list[Answer]) -> str:
    return "\n".join(str(a) for a in answers)


def test_the_spellings_of_a_race_are_one_user_name() -> None:
    """Each race's spellings fold (NFC, then case folding) to its key."""
    for key, spellings in RACES.items():
        assert {_fold(s) for s in spellings} == {key}
        assert len(set(spellings)) == len(spellings)


@pytest.mark.parametrize("key", list(RACES))
def test_a_user_name_race_across_replicas_has_exactly_one_winner(
    traffic: Traffic, key: str
) -> None:
    """Creates of one userName in different case and normalisation, through
    both facades at once: one 201, every other answer 409 uniqueness."""
    answers = traffic.creates[key]
    assert len(answers) == 2 * len(RACES[key])
    winners = [a for a in answers if a.status == 201]
    assert len(winners) == 1, f"{len(winners)} winners:\n{_lines(answers)}"
    losers = [a for a in answers if a.status != 201]
    refused = [a for a in losers if a.status == 409 and a.body.get("scimType") == "uniqueness"]
    assert refused == losers, (
        f"not a 409 uniqueness:\n{_lines([a for a in losers if a not in refused])}"
    )


@pytest.mark.parametrize("key", list(RACES))
def test_a_filter_on_the_raced_user_name_finds_one_user(traffic: Traffic, key: str) -> None:
    """Afterwards `userName eq` finds exactly one user, the winner, whichever
    spelling the filter uses and whichever facade answers."""
    winners = [a.body["id"] for a in traffic.creates[key] if a.status == 201]
    found: list[Answer] = []
    for facade, spelling in itertools.product((0, 1), RACES[key]):
        params = {"filter": f'userName eq "{spelling}"'}
        found.append(traffic.cluster.scim.call(facade, "GET", "/Users", params=params))
    assert [a.status for a in found] == [200] * len(found), _lines(found)
    assert [a.body["totalResults"] for a in found] == [1] * len(found), _lines(found)
    ids = {a.body["Resources"][0]["id"] for a in found}
    assert len(ids) == 1, _lines(found)
    assert list(ids) == winners


def test_every_concurrent_member_patch_succeeds(traffic: Traffic) -> None:
    """Adds and removes on one group from many threads through both facades all answer 2xx."""
    assert len(traffic.member_patches) == sum(len(p) for p in traffic.members.values())
    failed = [a for a in traffic.member_patches if not 200 <= a.status < 300]
    assert failed == [], f"{len(failed)} of {len(traffic.member_patches)}:\n{_lines(failed)}"


def test_no_member_change_is_lost(traffic: Traffic) -> None:
    """The group's members are exactly those whose last PATCH added them, on both facades."""
    for facade in (0, 1):
        group = traffic.cluster.scim.call(facade, "GET", f"/Groups/{traffic.group_id}")
        assert group.status == 200, group
        members = {m["value"] for m in group.body.get("members", [])}
        missing, extra = traffic.expected_members - members, members - traffic.expected_members
        assert (missing, extra) == (set(), set()), (
            f"via facade {facade}: {len(missing)} missing and {len(extra)} extra"
            f" of {len(traffic.expected_members)} expected members"
        )


def test_every_concurrent_deactivation_sticks(traffic: Traffic) -> None:
    """PATCH active=false, each user through both facades at once amid the
    other traffic: every answer is 200 with active false, and so is a GET after."""
    assert len(traffic.deactivations) == 2 * LEAVERS
    wrong = [
        a for a in traffic.deactivations if a.status != 200 or a.body.get("active") is not False
    ]
    assert wrong == [], _lines(wrong)
    for facade, user_id in itertools.product((0, 1), traffic.leavers):
        user = traffic.cluster.scim.call(facade, "GET", f"/Users/{user_id}")
        assert (user.status, user.body.get("active")) == (200, False), user


def test_no_request_answers_a_server_error(traffic: Traffic) -> None:
    """IdPs retry 5xx forever: no race may end in one."""
    errors = [a for a in traffic.cluster.scim.answers if a.status >= 500]
    assert errors == [], _lines(errors)


def _delivered(stream: Stream, last_seq: int, seconds: float = 30.0) -> list[Change]:
    """The changes a stream delivers until one with `last_seq` (or the deadline)."""
    deadline = time.monotonic() + seconds
    found: list[Change] = []
    while not found or found[-1].seq < last_seq:
        try:
            response = stream.next(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        if response.HasField("change"):
            found.append(response.change)
    return found


def _summary(changes: list[Change]) -> list[tuple[int, str, str]]:
    return [(c.seq, Kind.Name(c.kind), c.resource) for c in changes]


def test_a_watcher_on_each_replica_sees_the_same_complete_sequence(traffic: Traffic) -> None:
    """Both streams, opened before the traffic, deliver every record of the
    log since then, gap-free, in order, once, exactly as ListChanges lists them."""
    a, b = traffic.cluster.logs
    listed = traffic.records
    assert listed, "the traffic left no record"
    last = listed[-1].seq
    whole = [c for c in a.all() if c.seq <= last]
    assert [c.seq for c in whole] == list(range(1, last + 1)), "the log has gaps"
    assert [c for c in b.all() if c.seq <= last] == whole, "the replicas list different logs"
    assert listed == whole[len(whole) - len(listed) :]
    later = [c for c in a.since(traffic.starts[1]) if c.seq <= last]
    assert later == listed, "the watchers started at different positions"
    for replica, stream in enumerate(traffic.streams):
        delivered = _delivered(stream, last)
        assert _summary(delivered) == _summary(listed), f"replica {replica} delivered otherwise"
        assert delivered == listed, f"replica {replica} delivered other records"


def test_member_records_add_up_to_the_final_members(traffic: Traffic) -> None:
    """One MEMBER_ADDED or MEMBER_REMOVED per change a PATCH actually made
    (none for a no-op), so added minus removed is the member count."""
    group = f"tenants/{traffic.cluster.slug}/groups/{traffic.group_id}"
    per_member: dict[str, list[str]] = {user: [] for user in traffic.members}
    for record in traffic.records:
        if record.resource == group and record.kind in (Kind.MEMBER_ADDED, Kind.MEMBER_REMOVED):
            member = str(snapshot(record)["member"]).rpartition("/")[2]
            per_member.setdefault(member, []).append(Kind.Name(record.kind))
    wrong = {
        user: (traffic.members.get(user), kinds)
        for user, kinds in per_member.items()
        if kinds != _effective(traffic.members.get(user, ()))
    }
    assert wrong == {}, "member: (plan, records)"
    counts = Counter(kind for kinds in per_member.values() for kind in kinds)
    assert counts["MEMBER_ADDED"] - counts["MEMBER_REMOVED"] == len(traffic.expected_members)


def test_each_deactivation_is_recorded_once(traffic: Traffic) -> None:
    """Two concurrent PATCH active=false make one USER_DEACTIVATED: the
    second finds the user inactive and writes nothing (scim_facade.users:
    no new version when nothing differs; DeactivateUser of an inactive
    user changes nothing, so it records nothing)."""
    kinds: dict[str, list[str]] = {user: [] for user in traffic.leavers}
    for record in traffic.records:
        user_id = record.resource.rpartition("/users/")[2]
        if user_id in kinds:
            kinds[user_id].append(Kind.Name(record.kind))
    wrong = {u: k for u, k in kinds.items() if k != ["USER_CREATED", "USER_DEACTIVATED"]}
    assert wrong == {}


def test_each_raced_user_name_is_created_once_in_the_log(traffic: Traffic) -> None:
    """The log holds one USER_CREATED per raced userName: the winner's."""
    created: dict[str, list[str]] = {key: [] for key in RACES}
    for record in traffic.records:
        if record.kind == Kind.USER_CREATED:
            key = _fold(str(snapshot(record)["user_name"]))
            if key in created:
                created[key].append(record.resource.rpartition("/")[2])
    winners = {
        key: [a.body["id"] for a in answers if a.status == 201]
        for key, answers in traffic.creates.items()
    }
    assert created == winners


def _next_change(stream: Stream, seconds: float) -> Change | None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            response = stream.next(timeout=left)
        except queue.Empty:
            return None
        if response.HasField("change"):
            return response.change
    return None


@pytest.mark.parametrize(("facade", "watched"), [(0, 1), (1, 0)])
def test_a_write_through_one_replica_wakes_a_watcher_on_the_other(
    cluster: Cluster, facade: int, watched: int
) -> None:
    """A stream hears of another replica's commit from its wake-up signal,
    in well under the fallback poll (10 minutes here)."""
    with cluster.logs[watched].watch() as stream:
        stream.until_checkpoint(timeout=10)
        began = time.monotonic()
        body = {"schemas": [USER], "userName": f"late-through-{facade}"}
        created = cluster.scim.call(facade, "POST", "/Users", body)
        assert created.status == 201, created
        change = _next_change(stream, 10)
        seconds = time.monotonic() - began
    assert change is not None, f"replica {watched} heard nothing of replica {facade}'s commit"
    assert change.resource.endswith(f"/users/{created.body['id']}")
    assert seconds < 5
