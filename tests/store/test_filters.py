"""The filter compiler against a real SQLite file: each filter is compiled to SQL,
run in the database, and the set of matching ids is compared with the expected one."""

import contextlib
import itertools
import json
import operator
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy.dialects.postgresql.base import PGDialect

from identity_service.domain.errors import InvalidFilter
from identity_service.store.engine import Database, fold
from identity_service.store.filters import MAX_FILTER_LENGTH, group_filter, user_filter
from identity_service.store.schema import emails_key, metadata

USERS = metadata.tables["users"]
GROUPS = metadata.tables["groups"]
MEMBERS = metadata.tables["group_members"]
TENANTS = metadata.tables["tenants"]
ACME_URN = "urn:acme:params:scim:schemas:extension:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EVERYONE = {"elodie", "bob", "carol", "dave", "erin"}


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


def _user(tenant: int, id: str, user_name: str, **columns: Any) -> dict[str, Any]:
    display_name = columns.get("display_name")
    return {
        "tenant_id": tenant,
        "id": id,
        "user_name": user_name,
        "user_name_key": fold(user_name),
        "external_id": columns.get("external_id"),
        "display_name": display_name,
        "display_name_key": fold(display_name) if display_name else None,
        "state": columns.get("state", "ACTIVE"),
        "attributes": columns.get("attributes", {}),
        "emails_key": emails_key(columns.get("attributes", {})),
        "create_time": columns.get("created", _at("2024-01-01")),
        "update_time": columns.get("modified", _at("2024-01-01")),
    }


ELODIE = {
    "nameParts": {"familyName": "Dupont", "givenName": "Élodie"},
    "title": "CTO",
    "emails": [
        {"value": "elodie@Example.com", "type": "work", "primary": True},
        {"value": "elodie@home.org", "type": "home"},
    ],
    "enterprise": {
        "department": "R&D",
        "employeeNumber": "701",
        "manager": {"value": "bob", "displayName": "Bob"},
    },
    "extensions": {ACME_URN: {"badge": "7A", "level": 7, "remote": True}},
}
BOB = {
    "nameParts": {"familyName": "Straße"},
    "emails": [
        {"value": "bob@work.example", "type": "home"},
        {"value": "bob@example.com", "type": "work"},
    ],
    "extensions": {ACME_URN: {"level": 3, "remote": False}},
}
DAVE = {
    "title": "50%_off",
    "addresses": [{"streetAddress": "1 Main St", "locality": "Springfield", "type": "work"}],
    "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
    "extensions": {ACME_URN: {"badge": 7}},
}
TENANT_ONE_USERS = [
    _user(1, "elodie", "Élodie", external_id="EXT-1", display_name="Élodie Dupont",
          attributes=ELODIE, created=_at("2024-01-10"), modified=_at("2024-03-01")),
    _user(1, "bob", "bob", external_id="ext-1", display_name="Bob STRASSE",
          state="DEACTIVATED", attributes=BOB, created=_at("2024-02-01")),
    _user(1, "carol", "CAROL.K", created=_at("2024-06-01"), modified=_at("2024-06-01")),
    _user(1, "dave", "dave", display_name="Dave", attributes=DAVE, created=_at("2024-03-15")),
    _user(1, "erin", "erin", attributes={"title": "50xyoff"}, created=_at("2024-04-01")),
]  # fmt: skip
OTHER_TENANT_USERS = [_user(2, "carol", "carol"), _user(2, "zed", "zed", attributes=ELODIE)]
GROUP_ROWS = [
    (1, "g-eng", "Engineering", "ENG"),
    (1, "g-ops", "Straße Ops", None),
    (1, "g-all", "Everyone", None),
    (1, "g-empty", "Empty", None),
    (2, "g-ops", "Ops", None),
    (2, "g-eng", "Engineering", None),
]
MEMBERSHIPS = [
    (1, "g-eng", "elodie", "USER"),
    (1, "g-eng", "bob", "USER"),
    (1, "g-ops", "dave", "USER"),
    *[(1, "g-all", user, "USER") for user in ("elodie", "bob", "carol", "dave", "erin")],
    (1, "g-all", "g-eng", "GROUP"),
    (2, "g-ops", "carol", "USER"),
    (2, "g-eng", "carol", "USER"),
]


def _tenant(tenant_id: int, slug: str) -> dict[str, Any]:
    now = _at("2024-01-01")
    return {
        "id": tenant_id,
        "slug": slug,
        "state": "ACTIVE",
        "create_time": now,
        "update_time": now,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("filters")
    database = Database.from_url(f"sqlite:///{path}/t.db")
    metadata.create_all(database.engine)
    with database.write() as conn:
        conn.execute(TENANTS.insert(), [_tenant(1, "acme"), _tenant(2, "other")])
        conn.execute(USERS.insert(), TENANT_ONE_USERS + OTHER_TENANT_USERS)
        conn.execute(GROUPS.insert(), [_group(*row) for row in GROUP_ROWS])
        conn.execute(MEMBERS.insert(), [_membership(*row) for row in MEMBERSHIPS])
    yield database
    database.dispose()


def _group(tenant: int, id: str, display_name: str, external_id: str | None) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "id": id,
        "external_id": external_id,
        "display_name": display_name,
        "display_name_key": fold(display_name),
        "create_time": _at("2024-01-01"),
        "update_time": _at("2024-01-01"),
    }


def _membership(tenant: int, group: str, member: str, kind: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "group_id": group,
        "member_id": member,
        "member_type": kind,
        "create_time": _at("2024-01-01"),
    }


def users_matching(db: Database, expression: str, tenant: int = 1) -> set[str]:
    query = sa.select(USERS.c.id).where(USERS.c.tenant_id == tenant, user_filter(expression))
    with db.read() as conn:
        return set(conn.execute(query).scalars())


def groups_matching(db: Database, expression: str) -> set[str]:
    query = sa.select(GROUPS.c.id).where(GROUPS.c.tenant_id == 1, group_filter(expression))
    with db.read() as conn:
        return set(conn.execute(query).scalars())


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "bob"', {"bob"}),
        ('userName ne "bob"', EVERYONE - {"bob"}),
        ('userName co "ar"', {"carol"}),
        ('userName sw "CA"', {"carol"}),
        ('userName ew "E"', {"elodie", "dave"}),
        ('userName gt "dave"', {"elodie", "erin"}),
        ('userName ge "dave"', {"elodie", "erin", "dave"}),
        ('userName lt "carol.k"', {"bob"}),
        ('userName le "carol.k"', {"bob", "carol"}),
        ("userName pr", EVERYONE),
        ('title eq "cto"', {"elodie"}),
        ('title co "OFF"', {"dave", "erin"}),
        ('title sw "50"', {"dave", "erin"}),
        ('title ew "F"', {"dave", "erin"}),
        ('title gt "a"', {"elodie"}),
        ('title lt "a"', {"dave", "erin"}),
        ("title pr", {"elodie", "dave", "erin"}),
        ('name.familyName sw "du"', {"elodie"}),
        ('displayName ew "dupont"', {"elodie"}),
        ('displayName le "Bob"', set()),
        ("displayName pr", {"elodie", "bob", "dave"}),
    ],
)
def test_each_operator_compares_strings_as_the_rfc_defines(
    db: Database, expression: str, expected: set[str]
) -> None:
    """eq ne co sw ew gt ge lt le pr on string attributes (RFC 7644 §3.4.2.2)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "ÉLODIE"', {"elodie"}),
        ('userName eq "E\u0301lodie"', {"elodie"}),
        ('userName sw "éL"', {"elodie"}),
        ('name.familyName eq "STRASSE"', {"bob"}),
        ('name.familyName co "ss"', {"bob"}),
        ('displayName eq "bob straße"', {"bob"}),
        ('emails.value eq "ELODIE@EXAMPLE.COM"', {"elodie"}),
        ('emails[type eq "WORK"]', {"elodie", "bob"}),
    ],
)
def test_case_insensitive_attributes_fold_case_and_normalise_unicode(
    db: Database, expression: str, expected: set[str]
) -> None:
    """caseExact false compares after NFC and case folding (RFC 7643 §2.2, §4.1.1)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('id eq "bob"', {"bob"}),
        ('id eq "BOB"', set()),
        ('id co "LOD"', set()),
        ('id co "lod"', {"elodie"}),
        ('id sw "E"', set()),
        ('id ew "IN"', set()),
        ('id ew "in"', {"erin"}),
        ('externalId eq "ext-1"', {"bob"}),
        ('externalId eq "EXT-1"', {"elodie"}),
        ('externalId sw "EXT"', {"elodie"}),
        ('externalId ne "ext-1"', EVERYONE - {"bob"}),
        ("externalId pr", {"elodie", "bob"}),
        (f'{ENTERPRISE_URN}:manager.value eq "BOB"', set()),
        (f'{ENTERPRISE_URN}:manager.value eq "bob"', {"elodie"}),
    ],
)
def test_case_exact_attributes_compare_case_sensitively(
    db: Database, expression: str, expected: set[str]
) -> None:
    """id, externalId and references are caseExact (RFC 7643 §3.1, §4.3)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('title co "50%_off"', {"dave"}),
        ('title sw "50%"', {"dave"}),
        ('title ew "_off"', {"dave"}),
        ('title co "%"', {"dave"}),
        ('userName co "_"', set()),
        ('userName sw "%"', set()),
        ('id co "%"', set()),
    ],
)
def test_like_wildcards_in_values_are_taken_literally(
    db: Database, expression: str, expected: set[str]
) -> None:
    """% and _ in a comparison value are ordinary characters (RFC 7644 §3.4.2.2)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("active eq true", EVERYONE - {"bob"}),
        ("active eq false", {"bob"}),
        ("active ne true", {"bob"}),
        ("active pr", EVERYONE),
        ("emails.primary eq true", {"elodie"}),
        ("emails.primary eq false", {"elodie", "bob"}),
        ("emails[primary pr]", {"elodie"}),
        ('emails[type eq "work" and primary eq true]', {"elodie"}),
        ('emails[type eq "home" and primary eq true]', set()),
    ],
)
def test_boolean_attributes_compare_with_true_and_false(
    db: Database, expression: str, expected: set[str]
) -> None:
    """Booleans take eq and ne with true or false (RFC 7644 §3.4.2.2)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('meta.created eq "2024-02-01T12:00:00Z"', {"bob"}),
        ('meta.created eq "2024-02-01T14:00:00+02:00"', {"bob"}),
        ('meta.created gt "2024-03-15T12:00:00Z"', {"carol", "erin"}),
        ('meta.created ge "2024-03-15T12:00:00Z"', {"carol", "dave", "erin"}),
        ('meta.created lt "2024-02-01T12:00:00.000001Z"', {"elodie", "bob"}),
        ('meta.created le "2024-01-10T12:00:00Z"', {"elodie"}),
        ('meta.created ne "2024-01-10T12:00:00Z"', EVERYONE - {"elodie"}),
        ('meta.lastModified gt "2024-02-01T00:00:00Z"', {"elodie", "carol"}),
        ('update_time gt "2024-02-01T00:00:00-05:00"', {"elodie", "carol"}),
        ("meta.created pr", EVERYONE),
    ],
)
def test_datetime_attributes_compare_as_instants(
    db: Database, expression: str, expected: set[str]
) -> None:
    """dateTime values are RFC 3339 instants, offsets included (RFC 7643 §2.3.5)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "bob" or userName eq "dave" and title pr', {"bob", "dave"}),
        ('(userName eq "bob" or userName eq "dave") and title pr', {"dave"}),
        ('title pr and userName eq "erin" or userName eq "bob"', {"erin", "bob"}),
        ('title pr and (userName eq "erin" or userName eq "bob")', {"erin"}),
        ('not (userName eq "bob") and not (title pr)', {"carol"}),
        ('not (userName eq "bob" or title pr)', {"carol"}),
    ],
)
def test_and_binds_tighter_than_or(db: Database, expression: str, expected: set[str]) -> None:
    """Precedence is not, then and, then or; parentheses group (RFC 7644 §3.4.2.2)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('not (title eq "cto")', EVERYONE - {"elodie"}),
        ('title ne "cto"', EVERYONE - {"elodie"}),
        ('not (title co "x")', EVERYONE - {"erin"}),
        ('not (name.familyName sw "d")', EVERYONE - {"elodie"}),
        ('not (emails.type eq "home")', {"carol", "dave", "erin"}),
        (f"not ({ACME_URN}:level gt 5)", EVERYONE - {"elodie"}),
        ('not (displayName eq "dave")', EVERYONE - {"dave"}),
        ("not (not (title pr))", {"elodie", "dave", "erin"}),
    ],
)
def test_not_matches_resources_without_the_attribute(
    db: Database, expression: str, expected: set[str]
) -> None:
    """A comparison with an unassigned attribute is false, so its negation holds
    (RFC 7644 §3.4.2.2, RFC 7643 §2.5)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("title eq null", {"bob", "carol"}),
        ("title ne null", {"elodie", "dave", "erin"}),
        ("emails eq null", {"carol", "dave", "erin"}),
        ("externalId eq null", {"carol", "dave", "erin"}),
        ("active eq null", set()),
    ],
)
def test_null_is_the_same_as_unassigned(db: Database, expression: str, expected: set[str]) -> None:
    """Unassigned and null are equivalent: eq null is not pr (RFC 7643 §2.5)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("name pr", {"elodie", "bob"}),
        ("name.givenName pr", {"elodie"}),
        ("emails pr", {"elodie", "bob"}),
        ("emails.type pr", {"elodie", "bob"}),
        ("addresses pr", {"dave"}),
        ("addresses.locality pr", {"dave"}),
        ("phoneNumbers pr", {"dave"}),
        ("ims pr", set()),
        ("enterprise pr", {"elodie"}),
        ("groups pr", EVERYONE),
    ],
)
def test_presence_requires_a_non_empty_value(
    db: Database, expression: str, expected: set[str]
) -> None:
    """pr holds for a non-empty value, list or complex value (RFC 7644 §3.4.2.2)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('emails[type eq "work" and value co "@example.com"]', {"elodie", "bob"}),
        ('emails[type eq "work" and value co "work.example"]', set()),
        ('emails[type eq "home" and value co "work.example"]', {"bob"}),
        ('emails.type eq "work" and emails.value co "work.example"', {"bob"}),
        ('emails[type eq "home" or value ew ".org"]', {"elodie", "bob"}),
        ('emails[not (type eq "work")]', {"elodie", "bob"}),
        ('emails[type eq "work"].value ew ".com"', {"elodie", "bob"}),
        ('addresses[type eq "work" and streetAddress sw "1 MAIN"]', {"dave"}),
        ('phoneNumbers[type eq "mobile" and value co "555"]', {"dave"}),
    ],
)
def test_value_filter_conditions_hold_on_the_same_value(
    db: Database, expression: str, expected: set[str]
) -> None:
    """The conditions in attr[...] apply to one value of attr, while attr.sub
    conditions each pick their own value (RFC 7644 §3.4.2.2)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('emails eq "bob@example.com"', {"bob"}),
        ('emails co "home"', {"elodie"}),
        ('emails ne "bob@example.com"', EVERYONE - {"bob"}),
        ('groups eq "g-ops"', {"dave"}),
        ('groups.value eq "g-eng"', {"elodie", "bob"}),
        ('groups[value sw "g-e"]', {"elodie", "bob"}),
        ('groups eq "G-OPS"', set()),
    ],
)
def test_multi_valued_attribute_without_sub_attribute_compares_value(
    db: Database, expression: str, expected: set[str]
) -> None:
    """A comparison on a multi-valued attribute applies to its value sub-attribute
    (RFC 7644 §3.4.2.2); User.groups are the user's memberships (RFC 7643 §4.1.2)."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (f'{ENTERPRISE_URN}:department eq "r&d"', {"elodie"}),
        (f'{ENTERPRISE_URN.upper()}:DEPARTMENT eq "R&D"', {"elodie"}),
        (f'{ENTERPRISE_URN}:employeeNumber sw "7"', {"elodie"}),
        (f'{ENTERPRISE_URN}:manager.displayName eq "BOB"', {"elodie"}),
        (f"{ENTERPRISE_URN}:manager pr", {"elodie"}),
        ('enterprise.department co "&"', {"elodie"}),
        ('enterprise.employee_number eq "701"', {"elodie"}),
        ("enterprise.manager pr", {"elodie"}),
        (f'{ACME_URN}:badge eq "7a"', {"elodie"}),
        (f"{ACME_URN}:badge eq 7", {"dave"}),
        (f'{ACME_URN}:badge eq "7"', set()),
        (f"{ACME_URN}:level ge 3", {"elodie", "bob"}),
        (f"{ACME_URN}:level lt 7.5", {"elodie", "bob"}),
        (f"{ACME_URN}:remote eq true", {"elodie"}),
        (f"{ACME_URN}:remote eq false", {"bob"}),
        (f"{ACME_URN}:remote pr", {"elodie", "bob"}),
        (f"{ACME_URN}:badge pr", {"elodie", "dave"}),
    ],
)
def test_extension_attributes_are_addressed_by_schema_urn(
    db: Database, expression: str, expected: set[str]
) -> None:
    """Extension attributes are named by their schema URN (RFC 7644 §3.10); the
    enterprise User's are typed (RFC 7643 §4.3), others compare as JSON values."""
    assert users_matching(db, expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        'userName eq "bob"',
        'USERNAME eq "bob"',
        'user_name eq "bob"',
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob"',
        'name.familyName eq "straße"',
        'name_parts.family_name eq "straße"',
        'nameParts.FAMILYNAME eq "straße"',
        'emails[TYPE eq "home" and Value co "work"]',
        'Emails.Value eq "bob@work.example"',
    ],
)
def test_attribute_names_match_in_any_case_and_in_proto_spelling(
    db: Database, expression: str
) -> None:
    """Attribute names are case-insensitive (RFC 7643 §2.1); proto names work too."""
    assert users_matching(db, expression) == {"bob"}


def test_membership_subqueries_stay_in_the_tenant(db: Database) -> None:
    """A membership row of another tenant never matches (tenancy, DESIGN.md)."""
    assert users_matching(db, 'groups eq "g-eng"') == {"elodie", "bob"}
    assert users_matching(db, 'groups eq "g-ops"', tenant=2) == {"carol"}
    assert groups_matching(db, 'members eq "carol"') == {"g-all"}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('id eq "g-eng"', {"g-eng"}),
        ('externalId eq "eng"', set()),
        ('externalId eq "ENG"', {"g-eng"}),
        ('displayName eq "STRASSE OPS"', {"g-ops"}),
        ('displayName sw "e"', {"g-eng", "g-all", "g-empty"}),
        ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName co "ryo"', {"g-all"}),
        ('members eq "dave"', {"g-ops", "g-all"}),
        ('members.value eq "elodie" and members.value eq "bob"', {"g-eng", "g-all"}),
        ('members[value eq "g-eng" and type eq "group"]', {"g-all"}),
        ('members[value eq "g-eng" and type eq "user"]', set()),
        ('members.type eq "Group"', {"g-all"}),
        ('members.value sw "ELO"', set()),
        ("members pr", {"g-eng", "g-ops", "g-all"}),
        ("not (members pr)", {"g-empty"}),
        ('meta.created lt "2025-01-01T00:00:00Z"', {"g-eng", "g-ops", "g-all", "g-empty"}),
    ],
)
def test_group_filters_match_exactly_these_groups(
    db: Database, expression: str, expected: set[str]
) -> None:
    """Group attributes and members (RFC 7643 §4.2) filter like the User's."""
    assert groups_matching(db, expression) == expected


@pytest.mark.parametrize("expression", ["", "   "])
def test_an_empty_filter_matches_everything(db: Database, expression: str) -> None:
    """An empty filter does not filter (AIP-160)."""
    assert users_matching(db, expression) == EVERYONE


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ('userName eq "bob', "does not parse"),
        ("userName eq", "does not parse"),
        ('userName xx "bob"', "does not parse"),
        ('(userName eq "bob"', "does not parse"),
        ('emails[type eq "work"', "does not parse"),
        ('emails[type[value eq "x"]]', "does not parse"),
        ('emails.type[value eq "x"]', "does not parse"),
        ('nickname2 eq "x"', "unknown attribute 'nickname2'"),
        ('meta.version eq "x"', "unknown attribute"),
        ('name eq "x"', "complex"),
        ('name.nickname eq "x"', "no sub-attribute"),
        ('emails[kind eq "x"]', "no sub-attribute"),
        ('addresses eq "x"', "no sub-attribute 'value'"),
        ('title[value eq "x"]', "not multi-valued"),
        ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"', "not an attribute"),
        ("active gt true", "'gt' does not apply"),
        ('active co "t"', "'co' does not apply"),
        ('active eq "true"', "boolean"),
        ("emails.primary lt true", "'lt' does not apply"),
        ('meta.created co "2024"', "'co' does not apply"),
        ('meta.created sw "2024"', "'sw' does not apply"),
        ('meta.created gt "yesterday"', "RFC 3339"),
        ('meta.created gt "2024-01-01"', "RFC 3339"),
        ('meta.created gt "2024-01-01T00:00:00"', "RFC 3339"),
        ("meta.created gt 20240101", "RFC 3339"),
        ("userName eq 5", "string"),
        ("title sw true", "string"),
        ("title gt null", "null can only"),
        (f"{ACME_URN}:level co 7", "'co' needs a string"),
        (f"{ACME_URN}:remote gt false", "'gt' does not apply"),
        (f"{ACME_URN}:level gt 1e400", "does not parse"),
        (f"{ACME_URN}:level gt {10**400}", "not a number"),
        ('userName eq "' + "x" * MAX_FILTER_LENGTH + '"', "longer than 4096"),
    ],
)
def test_invalid_filters_raise_invalid_filter(expression: str, message: str) -> None:
    """Invalid syntax, attributes, operators and values are client errors
    (RFC 7644 §3.4.2.2 invalidFilter), never another exception."""
    with pytest.raises(InvalidFilter, match=message):
        user_filter(expression)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ('title eq "x"', "unknown attribute 'title'"),
        ('groups eq "x"', "unknown attribute"),
        ('members[display eq "x"]', "no sub-attribute"),
        (f'{ACME_URN}:badge eq "7"', "not an attribute of a Group"),
    ],
)
def test_invalid_group_filters_raise_invalid_filter(expression: str, message: str) -> None:
    """A Group has only the attributes of RFC 7643 §4.2."""
    with pytest.raises(InvalidFilter, match=message):
        group_filter(expression)


def test_username_prefix_search_uses_the_index(db: Database) -> None:
    """userName sw is a range on the folded key, which the live-name index serves."""
    query = sa.select(USERS.c.id).where(
        USERS.c.tenant_id == 1, USERS.c.delete_time.is_(None), user_filter('userName sw "Ca"')
    )
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.read() as conn:
        plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "uq_users_live_user_name" in plan
    assert "user_name_key>? AND user_name_key<?" in plan


def test_the_same_filter_compiles_for_postgresql() -> None:
    """The shims render PostgreSQL's JSON, position and collation functions."""
    expression = user_filter('emails[type eq "work"] and title co "x" and userName sw "a"')
    dialect = PGDialect()  # type: ignore[no-untyped-call]
    sql = str(sa.select(USERS.c.id).where(expression).compile(dialect=dialect))
    assert "jsonb_array_elements(" in sql
    assert "jsonb_typeof(" in sql
    assert "strpos(" in sql
    assert 'COLLATE "C"' in sql
    assert "json_each" not in sql


# A differential property: the database and a plain Python reading agree.

TEXT = st.text(alphabet="aAbßSsÉé%_", min_size=1, max_size=3)
ATTRIBUTES = ("userName", "title", "emails.value", "emails.type")
OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
PYTHON_OPERATORS: dict[CompareOperator, Callable[[str, str], bool]] = {
    CompareOperator.eq: operator.eq,
    CompareOperator.co: lambda value, part: part in value,
    CompareOperator.sw: str.startswith,
    CompareOperator.ew: str.endswith,
    CompareOperator.gt: operator.gt,
    CompareOperator.ge: operator.ge,
    CompareOperator.lt: operator.lt,
    CompareOperator.le: operator.le,
}
_tenants = itertools.count(100)


@st.composite
def random_users(draw: st.DrawFn) -> list[dict[str, Any]]:
    emails = st.lists(st.fixed_dictionaries({"value": TEXT}, optional={"type": TEXT}), max_size=3)
    users = st.fixed_dictionaries(
        {"userName": TEXT, "active": st.booleans(), "emails": emails}, optional={"title": TEXT}
    )
    return draw(st.lists(users, min_size=1, max_size=5, unique_by=lambda u: fold(u["userName"])))


def _leaves() -> st.SearchStrategy[str]:
    attributes, operators = st.sampled_from(ATTRIBUTES), st.sampled_from(OPERATORS)
    compare = st.builds(lambda a, op, v: f'{a} {op} "{v}"', attributes, operators, TEXT)
    present = st.builds(lambda a: f"{a} pr", attributes)
    active = st.builds(lambda flag: f"active eq {str(flag).lower()}", st.booleans())
    selection = st.builds(lambda t, v: f'emails[type eq "{t}" and value co "{v}"]', TEXT, TEXT)
    return compare | present | active | selection


def _combined(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    both = st.builds(lambda a, b: f"({a} and {b})", inner, inner)
    either = st.builds(lambda a, b: f"({a} or {b})", inner, inner)
    return both | either | st.builds(lambda a: f"not ({a})", inner)


FILTERS = st.recursive(_leaves(), _combined, max_leaves=4)


class Reference(FilterVisitor[bool]):
    """The filter read in plain Python, on the rules filters.py documents."""

    def __init__(self, user: dict[str, Any]) -> None:
        self.user = user

    def visit_not(self, node: Not) -> bool:
        return not self.visit(node.expr)

    def visit_logical_expr(self, node: LogicalExpr) -> bool:
        results = [self.visit(term) for term in node.terms]
        return all(results) if node.op is LogicalOperator.and_ else any(results)

    def visit_value_path(self, node: ValuePath) -> bool:
        emails = self.user["emails"]
        return any(Reference({"emails": [email]}).visit(node.val_filter) for email in emails)

    def visit_present(self, node: Present) -> bool:
        return bool(self.values(node.attr_path))

    def visit_comparison(self, node: Comparison) -> bool:
        if node.attr_path.attr == "active":
            return bool(self.user["active"] is node.value)
        values, wanted = [fold(v) for v in self.values(node.attr_path)], fold(node.value)
        if node.op is CompareOperator.ne:
            return wanted not in values
        return any(PYTHON_OPERATORS[node.op](value, wanted) for value in values)

    def values(self, path: AttrPath) -> list[str]:
        """The attribute's values: emails.x, or x inside emails[...], or a scalar."""
        if path.attr in ("emails", "type", "value"):
            key = path.sub_attr or path.attr
            return [email[key] for email in self.user["emails"] if key in email]
        return [self.user[path.attr]] if path.attr in self.user else []


def _insert(db: Database, tenant: int, users: list[dict[str, Any]]) -> None:
    with db.write() as conn:
        conn.execute(TENANTS.insert(), [_tenant(tenant, f"t{tenant}")])
        conn.execute(USERS.insert(), [_row(tenant, i, user) for i, user in enumerate(users)])


def _row(tenant: int, index: int, user: dict[str, Any]) -> dict[str, Any]:
    """A generated user as stored: empty values omitted, active as the state."""
    state = "ACTIVE" if user["active"] else "DEACTIVATED"
    attributes = {key: user[key] for key in ("title", "emails") if user.get(key)}
    return _user(tenant, f"u{index}", user["userName"], state=state, attributes=attributes)


@settings(max_examples=200, deadline=None)
@given(users=random_users(), expression=FILTERS)
def test_sql_agrees_with_a_python_reading_of_the_filter(
    db: Database, users: list[dict[str, Any]], expression: str
) -> None:
    """On random users and filters, the database selects what the rules of
    RFC 7644 §3.4.2.2, read in plain Python, select."""
    tenant = next(_tenants)
    _insert(db, tenant, users)
    tree = ScimFilter(expression).ast
    expected = {f"u{i}" for i, user in enumerate(users) if Reference(user).visit(tree)}
    assert users_matching(db, expression, tenant) == expected


@settings(max_examples=300, deadline=None)
@given(expression=st.text(alphabet='abe()[]."\\ :01tqnoprl', max_size=40))
def test_any_text_compiles_or_raises_invalid_filter(expression: str) -> None:
    """No input makes the compiler raise anything but InvalidFilter (RFC 7644 §3.12)."""
    with contextlib.suppress(InvalidFilter):
        user_filter(expression)


EMAIL_SEARCHES = {
    ("co", "example.com"): {"elodie", "bob"},
    ("co", "EXAMPLE.COM"): {"elodie", "bob"},
    ("co", "home"): {"elodie"},
    ("co", ""): {"elodie", "bob"},
    ("sw", "ELODIE@"): {"elodie"},
    ("sw", "example"): set(),
    ("sw", ""): {"elodie", "bob"},
    ("ew", ".org"): {"elodie"},
    ("ew", "@"): set(),
    ("eq", "Bob@Example.com"): {"bob"},
    ("eq", "bob@example"): set(),
    ("eq", ""): set(),
    ("co", "m\x1fb"): set(),  # the key's separator: searched the long way
}


@pytest.mark.parametrize(("op", "value"), list(EMAIL_SEARCHES))
def test_a_string_search_on_emails_finds_what_walking_the_values_finds(
    db: Database, op: str, value: str
) -> None:
    """`emails.value co "x"` searches the folded values kept beside the
    document (UserRow.emails_key); `emails[value co "x"]` walks the JSON.
    Both find the same users, and so do their negations."""
    literal = json.dumps(value)
    searched = users_matching(db, f"emails.value {op} {literal}")
    assert searched == users_matching(db, f"emails[value {op} {literal}]")
    assert searched == users_matching(db, f"emails {op} {literal}")
    assert searched == EMAIL_SEARCHES[(op, value)]
    everyone = users_matching(db, "id pr")
    assert users_matching(db, f"not (emails.value {op} {literal})") == everyone - searched
