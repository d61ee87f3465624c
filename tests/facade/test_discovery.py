"""/ServiceProviderConfig, /ResourceTypes and /Schemas (RFC 7644 §4), derived
from the scim2-models classes, compared with the RFC 7643 §8 examples kept
under tests/golden/rfc, and checked for telling the truth."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from scim2_models import Context, ListResponse, ResourceType, Schema, ServiceProviderConfig

from scim_facade import discovery
from scim_facade.settings import Settings

GOLDEN = Path(__file__).parent.parent / "golden" / "rfc"
BASE = "/scim/v2"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
NO_TOKEN = {"Authorization": ""}
# RFC 7643 §7: the characteristics an attribute definition may leave out.
DEFAULTS = {
    "required": False,
    "caseExact": False,
    "mutability": "readWrite",
    "returned": "default",
    "uniqueness": "none",
}
CHARACTERISTICS = ("type", "multiValued", *DEFAULTS)

# Where /Schemas differs from the RFC 7643 §8.7.1 example, on purpose:
# (schema, attribute path, characteristic) -> (the RFC's value, ours, why).
# "present" is whether the attribute is there at all.
INTENTIONAL: dict[tuple[str, str, str], tuple[object, object, str]] = {
    (CORE_USER, "active", "required"): (
        False,
        True,
        "every Roster user has a status; a create without it makes an active user, "
        "a PUT without it keeps it",
    ),
    (CORE_USER, "password", "present"): (
        True,
        False,
        "accepted on POST/PUT and dropped: Roster keeps no passwords",
    ),
    **{
        (CORE_USER, path, "present"): (True, False, "identity.v1 returns no groups with a user")
        for path in ("groups", "groups.value", "groups.$ref", "groups.display", "groups.type")
    },
    (CORE_USER, "addresses.primary", "present"): (
        False,
        True,
        "§4.1.2 gives addresses a primary; the §8.7.1 example omits it, Roster keeps it",
    ),
    **{
        (CORE_USER, path, "caseExact"): (False, True, "§2.3.6/§2.3.7: binary, reference exact")
        for path in ("profileUrl", "photos.value", "x509Certificates.value")
    },
    (GROUP, "displayName", "required"): (False, True, "§4.2 says REQUIRED (erratum 5368)"),
    (GROUP, "members.value", "caseExact"): (False, True, "a member value is an id (§3.1)"),
    (GROUP, "members.$ref", "caseExact"): (False, True, "§2.3.7: references are case-exact"),
    (ENTERPRISE, "manager.value", "required"): (False, True, "§4.3 says REQUIRED"),
    (ENTERPRISE, "manager.value", "caseExact"): (False, True, "the manager's id (§3.1)"),
    (ENTERPRISE, "manager.$ref", "required"): (False, True, "§4.3 says REQUIRED; derived"),
    (ENTERPRISE, "manager.$ref", "caseExact"): (False, True, "§2.3.7: references are exact"),
}


def _golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def _flat(attributes: list[dict[str, Any]], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Attribute path -> its characteristics, defaults filled in."""
    flat = {}
    for attribute in attributes:
        path = prefix + attribute["name"]
        flat[path] = {c: attribute.get(c, DEFAULTS.get(c)) for c in CHARACTERISTICS}
        flat.update(_flat(attribute.get("subAttributes") or [], f"{path}."))
    return flat


def _differences(urn: str, rfc: dict[str, Any], ours: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    theirs, mine = _flat(rfc["attributes"]), _flat(ours["attributes"])
    found: dict[tuple[str, ...], Any] = {}
    for path in theirs.keys() | mine.keys():
        if (path in theirs) != (path in mine):
            found[urn, path, "present"] = (path in theirs, path in mine)
            continue
        for characteristic in CHARACTERISTICS:
            if theirs[path][characteristic] != mine[path][characteristic]:
                found[urn, path, characteristic] = (
                    theirs[path][characteristic],
                    mine[path][characteristic],
                )
    return found


@pytest.mark.parametrize(
    ("golden", "urn"),
    [
        ("rfc7643-8.7.1-user-schema.json", CORE_USER),
        ("rfc7643-8.7.1-group-schema.json", GROUP),
        ("rfc7643-8.7.1-enterprise-user-schema.json", ENTERPRISE),
    ],
)
def test_schema_attributes_match_the_rfc_example_but_for_listed_reasons(
    facade: TestClient, golden: str, urn: str
) -> None:
    """Every attribute's name, type and characteristics are the RFC 7643 §8.7.1 ones."""
    rfc = _golden(golden)
    ours = facade.get(f"{BASE}/Schemas/{urn}", headers=NO_TOKEN).json()
    assert (ours["id"], ours["name"]) == (rfc["id"], rfc["name"])
    expected = {key: value[:2] for key, value in INTENTIONAL.items() if key[0] == urn}
    assert _differences(urn, rfc, ours) == expected


def test_schemas_lists_every_served_schema_in_a_list_response(facade: TestClient) -> None:
    """GET /Schemas is a ListResponse of User, Group and the enterprise extension (RFC 7644 §4)."""
    response = facade.get(f"{BASE}/Schemas", headers=NO_TOKEN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == body["itemsPerPage"] == len(body["Resources"]) == 3
    assert {s["id"] for s in body["Resources"]} == {CORE_USER, GROUP, ENTERPRISE}
    ListResponse[Schema].model_validate(body, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


@pytest.mark.parametrize("urn", [CORE_USER, GROUP, ENTERPRISE, CORE_USER.upper()])
def test_a_schema_reads_by_its_urn_with_meta(facade: TestClient, urn: str) -> None:
    """GET /Schemas/{urn} returns the schema with meta.location (RFC 7644 §4, RFC 7643 §7)."""
    body = facade.get(f"{BASE}/Schemas/{urn}", headers=NO_TOKEN).json()
    assert body["id"].lower() == urn.lower()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    assert body["meta"] == {
        "resourceType": "Schema",
        "location": f"http://scim.test{BASE}/Schemas/{body['id']}",
    }
    Schema.model_validate(body, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def test_resource_types_match_the_rfc_example_but_for_listed_reasons(facade: TestClient) -> None:
    """User and Group as in RFC 7643 §8.6, in a ListResponse (RFC 7644 §4)."""
    body = facade.get(f"{BASE}/ResourceTypes", headers=NO_TOKEN).json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 2
    ours = {t["id"]: t for t in body["Resources"]}
    for rfc in _golden("rfc7643-8.6-resource-types.json"):
        mine = ours[rfc["id"]]
        for key in ("schemas", "name", "endpoint", "schema"):
            assert mine[key] == rfc[key]
        assert mine["meta"]["resourceType"] == rfc["meta"]["resourceType"]
        assert mine["meta"]["location"].endswith(f"{BASE}/ResourceTypes/{rfc['id']}")
        # Intentional: the extension is optional (Okta and Entra users often
        # have none), where the RFC's example makes it required.
        extensions = [(e["schema"], False) for e in rfc.get("schemaExtensions", [])]
        assert [(e["schema"], e["required"]) for e in mine.get("schemaExtensions", [])] == (
            extensions
        )
        ResourceType.model_validate(mine, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


@pytest.mark.parametrize(("type_id", "endpoint"), [("User", "/Users"), ("group", "/Groups")])
def test_a_resource_type_reads_by_its_id(facade: TestClient, type_id: str, endpoint: str) -> None:
    """GET /ResourceTypes/{id} returns one resource type (RFC 7644 §4)."""
    body = facade.get(f"{BASE}/ResourceTypes/{type_id}", headers=NO_TOKEN).json()
    assert body["endpoint"] == endpoint
    assert body["meta"]["resourceType"] == "ResourceType"


@pytest.mark.parametrize(
    "path",
    ["/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nothing", "/ResourceTypes/Device"],
)
def test_an_unknown_schema_or_resource_type_is_404(facade: TestClient, path: str) -> None:
    """An id that names nothing is 404 with a SCIM error (RFC 7644 §3.12)."""
    response = facade.get(f"{BASE}{path}", headers=NO_TOKEN)
    assert response.status_code == 404
    assert response.json()["status"] == "404"


def test_service_provider_config_tells_what_the_facade_supports(
    facade: TestClient, facade_app_settings: Settings
) -> None:
    """patch, bulk, filter, sort and etag supported, changePassword not (RFC 7643 §5)."""
    body = facade.get(f"{BASE}/ServiceProviderConfig", headers=NO_TOKEN).json()
    settings = facade_app_settings
    assert body["patch"] == {"supported": True}
    assert body["bulk"] == {
        "supported": True,
        "maxOperations": settings.bulk_max_operations,
        "maxPayloadSize": settings.bulk_max_payload_bytes,
    }
    assert body["filter"] == {"supported": True, "maxResults": settings.max_results}
    assert body["changePassword"] == {"supported": False}
    assert body["sort"] == body["etag"] == {"supported": True}
    assert [s["type"] for s in body["authenticationSchemes"]] == ["oauthbearertoken"]
    assert body["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"http://scim.test{BASE}/ServiceProviderConfig",
    }
    ServiceProviderConfig.model_validate(body, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def test_service_provider_config_advertises_both_paginations(
    facade: TestClient, facade_app_settings: Settings
) -> None:
    """RFC 9865 §4: cursor and index, index by default, no cursor timeout."""
    body = facade.get(f"{BASE}/ServiceProviderConfig", headers=NO_TOKEN).json()
    assert body["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": facade_app_settings.max_results,
        "maxPageSize": facade_app_settings.max_results,
    }


def test_service_provider_config_has_the_attributes_of_the_rfc_example(
    facade: TestClient,
) -> None:
    """Every attribute of the RFC 7643 §8.5 example is there, but documentationUri."""
    rfc = _golden("rfc7643-8.5-service-provider-config.json")
    ours = facade.get(f"{BASE}/ServiceProviderConfig", headers=NO_TOKEN).json()
    # Intentional: no documentation site to point at; the meta times and
    # version of a document built from code would carry no information.
    assert set(rfc) - set(ours) == {"documentationUri"}
    for key, value in rfc.items():
        if isinstance(value, dict) and key != "meta":
            assert set(ours[key]) == set(value), key
    bearer = next(s for s in rfc["authenticationSchemes"] if s["type"] == "oauthbearertoken")
    assert set(bearer) - set(ours["authenticationSchemes"][0]) == {"documentationUri"}
    assert set(rfc["meta"]) - set(ours["meta"]) == {"created", "lastModified", "version"}


@pytest.mark.parametrize(
    "path",
    [
        "/ServiceProviderConfig",
        "/ServiceProviderConfigs",
        "/ResourceTypes",
        "/ResourceTypes/User",
        "/Schemas",
        f"/Schemas/{CORE_USER}",
    ],
)
def test_discovery_answers_without_a_bearer_token(facade: TestClient, path: str) -> None:
    """RFC 7643 §5 wants the configuration readable before authentication."""
    assert facade.get(f"{BASE}{path}", headers=NO_TOKEN).status_code == 200


@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"])
def test_a_filter_on_a_discovery_endpoint_is_403(facade: TestClient, path: str) -> None:
    """RFC 7644 §4: a filter is refused (403) rather than silently ignored."""
    response = facade.get(f"{BASE}{path}", params={"filter": 'name eq "User"'}, headers=NO_TOKEN)
    assert response.status_code == 403
    assert response.json()["status"] == "403"


def test_other_query_parameters_of_discovery_are_ignored(facade: TestClient) -> None:
    """RFC 7644 §4: attributes, sorting and paging do not apply to /Schemas."""
    query = {"attributes": "id", "count": "1", "sortBy": "name"}
    plain = facade.get(f"{BASE}/Schemas", headers=NO_TOKEN).json()
    assert facade.get(f"{BASE}/Schemas", params=query, headers=NO_TOKEN).json() == plain


def _sample(attribute: dict[str, Any]) -> Any:
    """A valid value for an attribute definition (emails want an address)."""
    kind = attribute["type"]
    value: Any
    if kind == "complex":
        value = {s["name"]: _sample(s) for s in attribute["subAttributes"] if _writable(s)}
    elif kind == "boolean":
        value = True
    elif kind == "reference":
        value = f"https://example.com/{attribute['name']}"
    elif kind == "binary":
        value = "TUlJQw=="
    else:
        value = (attribute.get("canonicalValues") or [f"{attribute['name']}@example.com"])[0]
    return [value] if attribute["multiValued"] else value


def _writable(attribute: dict[str, Any]) -> bool:
    # A $ref is derived by the facade from the value it goes with.
    return bool(attribute["mutability"] != "readOnly" and attribute["name"] != "$ref")


def _advertised(urn: str) -> list[dict[str, Any]]:
    schema = discovery.schema(urn)
    assert schema is not None
    return [a for a in schema["attributes"] if _writable(a) and a["returned"] != "never"]


def _contains(got: Any, sent: Any) -> bool:
    """`got` carries everything `sent` does (the facade may add $ref, ...)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(_contains(got.get(k), v) for k, v in sent.items())
    if isinstance(sent, list):
        if not isinstance(got, list) or len(got) != len(sent):
            return False
        return all(_contains(g, s) for g, s in zip(got, sent, strict=True))
    return bool(got == sent)


@pytest.mark.parametrize(
    ("urn", "attribute"),
    [
        pytest.param(urn, a, id=f"{urn.split(':')[-3]}:{a['name']}")
        for urn in (CORE_USER, ENTERPRISE)
        for a in _advertised(urn)
    ],
)
def test_an_advertised_user_attribute_is_kept_and_returned(
    scim: TestClient, urn: str, attribute: dict[str, Any]
) -> None:
    """/Schemas tells the truth: what it advertises is stored and read back (RFC 7643 §7)."""
    name, value = attribute["name"], _sample(attribute)
    body: dict[str, Any] = {"schemas": [CORE_USER, ENTERPRISE], "userName": "truthful"}
    if urn == CORE_USER:
        body[name] = value
    else:
        body[ENTERPRISE] = {name: value}
    created = scim.post(f"{BASE}/Users", json=body)
    assert created.status_code == 201, created.text
    got = scim.get(f"{BASE}/Users/{created.json()['id']}").json()
    kept = got if urn == CORE_USER else got.get(ENTERPRISE, {})
    assert _contains(kept.get(name), value)
