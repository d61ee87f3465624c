"""An `eq` on a key (userName, externalId, id; a group's displayName,
externalId, id) is answered by a seek on its index, without compiling the
filter: it must find exactly what the compiled filter finds, which the same
query with an explicit order still goes through."""

import unicodedata

import pytest
from identity.v1 import user_pb2, user_service_pb2

from tests.groups.support import Directory


def _user_ids(d: Directory, expression: str, order_by: str = "") -> tuple[list[str], int]:
    request = user_service_pb2.ListUsersRequest(
        parent=d.tenant.parent, filter=expression, order_by=order_by
    )
    page = d.users.ListUsers(request, metadata=d.metadata)
    return [u.name for u in page.users], page.total_size


def _group_ids(d: Directory, expression: str, order_by: str = "") -> tuple[list[str], int]:
    page = d.list_groups(filter=expression, order_by=order_by)
    return [g.name for g in page.groups], page.total_size


@pytest.fixture
def populated(directory: Directory, elsewhere: Directory) -> Directory:
    d = directory
    for user_name, external_id in [
        ("Zoë.Ångström", "ext-1"),
        ("bjensen", "EXT-2"),
        ("deleted", "ext-3"),
        ("left", "ext-4"),
    ]:
        user = user_pb2.User(user_name=user_name, external_id=external_id)
        request = user_service_pb2.CreateUserRequest(parent=d.tenant.parent, user=user)
        created = d.users.CreateUser(request, metadata=d.metadata)
        if user_name == "deleted":
            delete = user_service_pb2.DeleteUserRequest(name=created.name)
            d.users.DeleteUser(delete, metadata=d.metadata)
        if user_name == "left":
            deactivate = user_service_pb2.DeactivateUserRequest(name=created.name)
            d.users.DeactivateUser(deactivate, metadata=d.metadata)
    d.group("Sales Team", external_id="g-ext-1")
    d.group("gone", external_id="g-ext-2")
    gone = next(g for g in d.list_groups().groups if g.display_name == "gone")
    d.delete(gone.name)
    # The same names in another tenant: never found here.
    elsewhere.user("bjensen")
    elsewhere.group("Sales Team", external_id="g-ext-1")
    return d


USER_FILTERS = [
    'userName eq "bjensen"',
    'USERNAME eq "BJensen"',
    f'userName eq "{unicodedata.normalize("NFD", "zoë.ångström")}"',
    'userName eq "deleted"',
    'userName eq "left"',
    'userName eq "nobody"',
    'userName eq ""',
    'externalId eq "EXT-2"',
    'externalId eq "ext-2"',
    'externalId eq "ext-3"',
    ' externalid  EQ  "ext-4" ',
]
GROUP_FILTERS = [
    'displayName eq "sales team"',
    'displayName eq "gone"',
    'externalId eq "g-ext-1"',
    'externalId eq "G-EXT-1"',
    'displayName eq "nobody"',
]


@pytest.mark.parametrize("expression", USER_FILTERS)
def test_a_user_key_lookup_finds_what_the_filter_finds(
    populated: Directory, expression: str
) -> None:
    assert _user_ids(populated, expression) == _user_ids(populated, expression, "user_name")


@pytest.mark.parametrize("expression", GROUP_FILTERS)
def test_a_group_key_lookup_finds_what_the_filter_finds(
    populated: Directory, expression: str
) -> None:
    assert _group_ids(populated, expression) == _group_ids(populated, expression, "display_name")


def test_key_lookups_find_live_resources_by_their_keys(populated: Directory) -> None:
    """The comparison above is not vacuous: lookups find what they should."""
    found = {f: len(_user_ids(populated, f)[0]) for f in USER_FILTERS}
    assert found == {
        'userName eq "bjensen"': 1,
        'USERNAME eq "BJensen"': 1,
        f'userName eq "{unicodedata.normalize("NFD", "zoë.ångström")}"': 1,
        'userName eq "deleted"': 0,
        'userName eq "left"': 1,
        'userName eq "nobody"': 0,
        'userName eq ""': 0,
        'externalId eq "EXT-2"': 1,
        'externalId eq "ext-2"': 0,  # externalId is case-exact
        'externalId eq "ext-3"': 0,
        ' externalid  EQ  "ext-4" ': 1,
    }
    user = _user_ids(populated, 'userName eq "bjensen"')[0][0]
    by_id = f'id eq "{user.rsplit("/", 1)[1]}"'
    assert _user_ids(populated, by_id) == ([user], 1)
    assert _user_ids(populated, by_id) == _user_ids(populated, by_id, "user_name")
    assert [len(_group_ids(populated, f)[0]) for f in GROUP_FILTERS] == [1, 0, 1, 0, 0]
