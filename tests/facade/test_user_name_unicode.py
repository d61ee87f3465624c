"""userName uniqueness and lookups through SCIM: spellings that are one
canonical caseless name collide (409 uniqueness) and find the same user."""

import urllib.parse

import pytest
from fastapi.testclient import TestClient

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
EQUIVALENT = [
    ("e\u0301lodie@example.com", "\u00c9LODIE@EXAMPLE.COM"),
    ("stra\u00dfe", "STRASSE"),
    ("\u01f0\u0323", "J\u0323\u030c"),
]
IDS = ["nfd-vs-nfc-upper", "sharp-s", "marks-reordered"]


def _create(scim: TestClient, user_name: str) -> dict[str, object]:
    response = scim.post("/scim/v2/Users", json={"schemas": [USER_SCHEMA], "userName": user_name})
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


@pytest.mark.parametrize(("first", "second"), EQUIVALENT, ids=IDS)
def test_creating_an_equivalent_user_name_is_409_uniqueness(
    scim: TestClient, first: str, second: str
) -> None:
    """A second spelling of a taken userName is 409 uniqueness (RFC 7644
    §3.3, RFC 7643 §4.1.1 caseExact false) and creates nothing."""
    _create(scim, first)

    response = scim.post("/scim/v2/Users", json={"schemas": [USER_SCHEMA], "userName": second})

    assert (response.status_code, response.json()["scimType"]) == (409, "uniqueness")
    assert scim.get("/scim/v2/Users").json()["totalResults"] == 1


@pytest.mark.parametrize(("first", "second"), EQUIVALENT, ids=IDS)
def test_renaming_to_an_equivalent_user_name_is_409_uniqueness(
    scim: TestClient, first: str, second: str
) -> None:
    """PUT to another user's userName in another spelling is 409 and changes nothing."""
    _create(scim, first)
    other = _create(scim, "other")

    response = scim.put(
        f"/scim/v2/Users/{other['id']}", json={"schemas": [USER_SCHEMA], "userName": second}
    )

    assert (response.status_code, response.json()["scimType"]) == (409, "uniqueness")
    assert scim.get(f"/scim/v2/Users/{other['id']}").json()["userName"] == "other"


@pytest.mark.parametrize(("first", "second"), EQUIVALENT, ids=IDS)
def test_filtering_by_an_equivalent_user_name_finds_the_user_as_sent(
    scim: TestClient, first: str, second: str
) -> None:
    """`userName eq` matches every equivalent spelling (RFC 7644 §3.4.2.2) and
    the user keeps the spelling it was created with."""
    created = _create(scim, first)
    query = urllib.parse.quote(f'userName eq "{second}"')

    found = scim.get(f"/scim/v2/Users?filter={query}").json()

    assert [(r["id"], r["userName"]) for r in found["Resources"]] == [(created["id"], first)]
