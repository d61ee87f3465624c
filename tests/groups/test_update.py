"""UpdateGroup: update masks (AIP-134), unchanged etags for no-op updates, and
displayName uniqueness on rename."""

import pytest

from tests.groups.support import Code, Directory, Group, refused


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["display_name"], ("Platform", "okta-1")),
        (["external_id"], ("Engineering", "okta-2")),
        (["*"], ("Platform", "okta-2")),
        (["display_name", "external_id"], ("Platform", "okta-2")),
    ],
)
def test_update_group_replaces_the_fields_in_the_mask(
    directory: Directory, paths: list[str], expected: tuple[str, str]
) -> None:
    """AIP-134: only the fields named in update_mask change; "*" names every field."""
    group = directory.group("Engineering", external_id="okta-1")
    change = Group(name=group.name, display_name="Platform", external_id="okta-2")

    updated = directory.update(change, *paths)

    assert (updated.display_name, updated.external_id) == expected
    assert updated.etag != group.etag
    assert directory.get(group.name) == updated


def test_an_empty_external_id_in_the_mask_clears_it(directory: Directory) -> None:
    """AIP-134: a field in the mask but absent from the resource is cleared."""
    group = directory.group(external_id="okta-1")

    cleared = directory.update(Group(name=group.name), "external_id")

    assert (cleared.display_name, cleared.external_id) == (group.display_name, "")
    assert directory.group(external_id="okta-1").external_id == "okta-1"


def test_an_update_that_changes_nothing_keeps_the_etag(directory: Directory) -> None:
    """No change, no new version (AIP-154)."""
    group = directory.group("Engineering")

    same = directory.update(Group(name=group.name, display_name="Engineering"), "display_name")

    assert same == group


@pytest.mark.parametrize("paths", [[], ["member_count"], ["name"], ["display_name", "etag"]])
def test_an_update_mask_naming_no_updatable_field_is_invalid(
    directory: Directory, paths: list[str]
) -> None:
    """AIP-134: a mask naming a field that cannot be updated is INVALID_UPDATE_MASK."""
    group = directory.group()

    refused(
        lambda: directory.update(Group(name=group.name, display_name="x"), *paths),
        Code.INVALID_ARGUMENT,
        "INVALID_UPDATE_MASK",
    )


def test_renaming_to_a_name_taken_in_another_case_is_already_exists(directory: Directory) -> None:
    """Uniqueness of displayName holds on update too."""
    directory.group("Sales")
    group = directory.group("Engineering")

    refused(
        lambda: directory.update(Group(name=group.name, display_name="SALES"), "display_name"),
        Code.ALREADY_EXISTS,
        "GROUP_NAME_TAKEN",
    )


def test_a_group_can_change_the_case_of_its_own_name(directory: Directory) -> None:
    """A group does not conflict with itself."""
    group = directory.group("engineering")

    updated = directory.update(Group(name=group.name, display_name="Engineering"), "display_name")

    assert updated.display_name == "Engineering"
