"""AddMembers, RemoveMembers and ReplaceMembers: what each change does to the
member list, its count and its etag, request_id replay, and racing changes."""

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from identity_service.store.engine import Database
from identity_service.store.schema import MembershipRow
from tests.groups.support import Directory, missing_user


def test_add_members_adds_users_and_groups(directory: Directory) -> None:
    """AddMembers adds every named member and counts them."""
    group = directory.group()
    alice, nested = directory.user(), directory.group()

    added = directory.add(group.name, [alice.name, nested.name])

    assert added.member_count == 2
    assert added.etag != group.etag
    assert directory.member_names(group.name) == {alice.name, nested.name}


def test_the_same_member_twice_in_one_call_is_added_once(directory: Directory) -> None:
    """A member named twice is one member."""
    group = directory.group()
    alice = directory.user()

    assert directory.add(group.name, [alice.name, alice.name]).member_count == 1


def test_re_adding_a_member_is_a_no_op(directory: Directory) -> None:
    """Adding a member already there changes nothing, not even the etag."""
    alice = directory.user()
    group = directory.group(members=[alice.name])

    again = directory.add(group.name, [alice.name])

    assert again == group
    assert directory.get(group.name) == group


def test_removing_an_absent_member_is_a_no_op(directory: Directory) -> None:
    """Removing a member that is not there changes nothing, not even the etag."""
    alice, bob = directory.user(), directory.user()
    group = directory.group(members=[alice.name])

    again = directory.remove(group.name, [bob.name, missing_user(directory)])

    assert again == group
    assert directory.member_names(group.name) == {alice.name}


def test_remove_members_removes_them(directory: Directory) -> None:
    """RemoveMembers removes the named members and counts them out."""
    alice, bob, nested = directory.user(), directory.user(), directory.group()
    group = directory.group(members=[alice.name, bob.name, nested.name])

    removed = directory.remove(group.name, [alice.name, nested.name])

    assert removed.member_count == 1
    assert removed.etag != group.etag
    assert directory.member_names(group.name) == {bob.name}


def test_a_request_id_replay_of_add_members_returns_the_first_answer(
    directory: Directory,
) -> None:
    """AIP-155: a retried AddMembers returns the first answer and changes nothing."""
    alice, bob = directory.user(), directory.user()
    group = directory.group()
    first = directory.add(group.name, [alice.name], request_id="add-alice")
    latest = directory.add(group.name, [bob.name])

    replayed = directory.add(group.name, [alice.name], request_id="add-alice")

    assert replayed == first
    assert directory.get(group.name) == latest


def test_replace_members_makes_the_list_exactly_the_given_one(directory: Directory) -> None:
    """ReplaceMembers (SCIM PUT, RFC 7644 §3.5.1) leaves exactly the given members."""
    a, b, c, d = (directory.user() for _ in range(4))
    nested = directory.group()
    group = directory.group(members=[a.name, b.name, c.name])

    replaced = directory.replace(group.name, [b.name, c.name, d.name, nested.name])

    assert replaced.member_count == 4
    assert replaced.etag != group.etag
    assert directory.member_names(group.name) == {b.name, c.name, d.name, nested.name}
    assert directory.memberships(a.name, transitive=False) == {}


def test_replace_members_touches_only_the_differences(directory: Directory, db: Database) -> None:
    """Members in both the old and the new list keep their membership row."""
    a, b, c = directory.user(), directory.user(), directory.user()
    group = directory.group(members=[a.name, b.name])
    before = _membership_rows(db, group.id)

    directory.replace(group.name, [b.name, c.name])

    after = _membership_rows(db, group.id)
    assert set(after) == {b.id, c.id}
    assert after[b.id] == before[b.id]


def _membership_rows(db: Database, group_id: str) -> dict[str, object]:
    """member id -> the stored row, as the database holds it."""
    table = MembershipRow.__table__  # type: ignore[attr-defined]
    with db.read() as conn:
        rows = conn.execute(sa.select(table).where(table.c.group_id == group_id)).all()
    return {row.member_id: tuple(row) for row in rows}


def test_replace_members_with_an_empty_list_clears_the_group(directory: Directory) -> None:
    """An empty member list is a valid SCIM PUT: the group ends up empty."""
    group = directory.group(members=[directory.user().name, directory.group().name])

    cleared = directory.replace(group.name, [])

    assert cleared.member_count == 0
    assert directory.members(group.name) == []


def test_replace_members_with_the_same_list_changes_nothing(directory: Directory) -> None:
    """No difference, no new version."""
    alice, bob = directory.user(), directory.user()
    group = directory.group(members=[alice.name, bob.name])

    assert directory.replace(group.name, [bob.name, alice.name]) == group


def test_concurrent_member_changes_keep_the_count_right(directory: Directory) -> None:
    """Racing AddMembers and RemoveMembers leave member_count equal to the members listed."""
    group = directory.group()
    staying = [directory.user().name for _ in range(6)]
    leaving = [directory.user().name for _ in range(6)]
    directory.add(group.name, leaving)

    def change(i: int) -> object:
        if i % 2:
            return directory.add(group.name, [staying[i // 2], leaving[0]])
        return directory.remove(group.name, [leaving[i // 2], staying[0]])

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(change, range(12)))

    listed = directory.member_names(group.name)
    assert directory.get(group.name).member_count == len(listed)
