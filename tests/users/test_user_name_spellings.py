"""Every spelling of a userName that is a canonical caseless match of the
stored one finds the user, through the key lookup and through the compiled
filter alike; the user keeps the spelling it was created with."""

import pytest

from tests.helpers import TenantAccess
from tests.users.support import Stub, create_user, list_users

SPELLINGS = [
    ("\u00c9lodie", "e\u0301LODIE"),
    ("Stra\u00dfe", "STRASSE"),
    ("\u01f0\u0323", "J\u0323\u030c"),
    ("\u1fb3\u030c", "\u0391\u030c\u0399"),
    ("\u212bngstr\u00f6m", "\u00e5NGSTRO\u0308M"),
]
SPELLING_IDS = ["nfd", "sharp-s", "marks-reordered", "ypogegrammeni", "angstrom-sign"]
# The first is the key lookup (an indexed `eq` alone); the others compile the filter.
FILTERS = ['userName eq "{}"', 'userName eq "{}" and userName pr', 'userName sw "{}"']


@pytest.mark.parametrize("template", FILTERS, ids=["key-lookup", "compiled-eq", "compiled-sw"])
@pytest.mark.parametrize(("stored", "asked"), SPELLINGS, ids=SPELLING_IDS)
def test_list_users_finds_a_user_by_any_equivalent_spelling(
    users: Stub, tenant: TenantAccess, stored: str, asked: str, template: str
) -> None:
    """userName compares as a canonical caseless match (RFC 7643 §4.1.1,
    caseExact false; Unicode §3.13 D145) and is returned as it was sent."""
    create_user(users, tenant, "someone-else")
    created = create_user(users, tenant, stored)

    found = list_users(users, tenant, filter=template.format(asked))

    assert [(u.id, u.user_name) for u in found.users] == [(created.id, stored)]


@pytest.mark.parametrize(
    ("first", "second"),
    [("\u24d9ohn", "john"), ("\uff4a\uff4f\uff48\uff4e", "john"), ("x\u00b2", "x2")],
    ids=["circled", "fullwidth", "superscript"],
)
def test_compatibility_variants_are_different_user_names(
    users: Stub, tenant: TenantAccess, first: str, second: str
) -> None:
    """Only canonical equivalents and case collide: NFKC's compatibility
    mappings are not applied (docs/decisions/0016)."""
    created = [create_user(users, tenant, name) for name in (first, second)]

    found = list_users(users, tenant, filter=f'userName eq "{second}"')

    assert [u.id for u in found.users] == [created[1].id]
