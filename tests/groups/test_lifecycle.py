"""DeleteGroup and UndeleteGroup (AIP-164): tombstones, freed names, removed
memberships, and undelete conflicts."""

import pytest

from tests.groups.support import Code, Directory, refused


def test_a_deleted_group_is_not_found_unless_deleted_ones_are_asked_for(
    directory: Directory,
) -> None:
    """AIP-164: a soft-deleted resource is NOT_FOUND, but show_deleted shows it."""
    group = directory.group()

    deleted = directory.delete(group.name)

    assert deleted.HasField("delete_time")
    refused(lambda: directory.get(group.name), Code.NOT_FOUND, "NOT_FOUND")
    assert directory.get(group.name, show_deleted=True) == deleted
    assert directory.list_groups().groups == []
    assert [g.name for g in directory.list_groups(show_deleted=True).groups] == [group.name]


def test_a_deleted_groups_display_name_and_external_id_are_free_again(
    directory: Directory,
) -> None:
    """AIP-164: uniqueness holds among live groups only."""
    group = directory.group("Engineering", external_id="okta-1")
    directory.delete(group.name)

    again = directory.group("ENGINEERING", external_id="okta-1")

    assert again.id != group.id


def test_deleting_a_group_removes_its_memberships_as_container_and_as_member(
    directory: Directory,
) -> None:
    """AIP-164 DeleteGroup empties the group and leaves its parents, with new counts and etags."""
    alice, bob = directory.user(), directory.user()
    child = directory.group(members=[alice.name])
    parent = directory.group(members=[child.name, bob.name])

    directory.delete(child.name)

    after = directory.get(parent.name)
    assert after.member_count == 1
    assert after.etag != parent.etag
    assert directory.member_names(parent.name) == {bob.name}
    assert directory.memberships(alice.name, transitive=True) == {}
    directory.undelete(child.name)
    assert directory.memberships(child.name, transitive=True) == {}
    assert directory.members(child.name) == []


def test_undelete_restores_a_group_with_no_members(directory: Directory) -> None:
    """AIP-164: UndeleteGroup restores the group; its memberships stay removed."""
    alice = directory.user()
    group = directory.group(members=[alice.name])
    directory.delete(group.name)

    restored = directory.undelete(group.name)

    assert not restored.HasField("delete_time")
    assert restored.member_count == 0
    assert directory.get(group.name) == restored
    assert directory.members(group.name) == []


@pytest.mark.parametrize(
    ("display_name", "external_id"), [("engineering", "other"), ("Other", "okta-1")]
)
def test_undeleting_into_a_taken_name_or_external_id_is_a_conflict(
    directory: Directory, display_name: str, external_id: str
) -> None:
    """Undelete may not give a second live group a displayName or externalId."""
    group = directory.group("Engineering", external_id="okta-1")
    directory.delete(group.name)
    directory.group(display_name, external_id=external_id)

    refused(lambda: directory.undelete(group.name), Code.FAILED_PRECONDITION, "UNDELETE_CONFLICT")
    assert directory.get(group.name, show_deleted=True).HasField("delete_time")


def test_undeleting_a_live_group_is_invalid_state(directory: Directory) -> None:
    """AIP-164: only a deleted resource can be undeleted."""
    group = directory.group()

    refused(lambda: directory.undelete(group.name), Code.FAILED_PRECONDITION, "INVALID_STATE")
