"""The facade validates a POST or PUT body without scim2-models' request
checks, then makes them itself (parsing._plainly_valid, decision 0013).
Whatever the body, the outcome must be scim2-models' own: the same
resource, or the same 400 (the library words every error)."""

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scim2_models import Context, Group

from scim_facade import dialects, parsing
from scim_facade.errors import ScimError

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CONTEXTS = (Context.RESOURCE_CREATION_REQUEST, Context.RESOURCE_REPLACEMENT_REQUEST)

word = st.sampled_from(["ada", "Bob", "zoë", "", " ", "x" * 3])
anything = st.one_of(st.none(), word, st.booleans(), st.integers(-2, 2), st.just([]), st.just({}))
entry = st.fixed_dictionaries(
    {},
    optional={
        "value": st.one_of(word, st.none()),
        "type": st.sampled_from(["work", "home"]),
        "primary": st.one_of(st.booleans(), st.none()),
        "display": word,
        "$ref": st.just("https://example.com/Users/1"),
    },
)


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`valid` about nine times in ten, else any JSON value."""
    return st.integers(0, 9).flatmap(lambda n: valid if n else anything)


entries = mostly(st.lists(entry, max_size=3))


users = st.fixed_dictionaries(
    {"userName": mostly(st.sampled_from(["ada", "Bob", "zoë"]))},
    optional={
        "schemas": st.sampled_from([[CORE], [CORE, ENTERPRISE], [], ["urn:x"]]),
        "id": word,  # readOnly: dropped
        "meta": st.just({"resourceType": "User", "created": "2024-01-01T00:00:00Z"}),
        "groups": entries,  # readOnly, with its own sub-attributes
        "active": mostly(st.booleans()),
        "displayName": mostly(word),
        "name": mostly(st.fixed_dictionaries({"givenName": st.sampled_from(["Ada", "Zoë"])})),
        "emails": entries,
        "phoneNumbers": entries,
        "addresses": mostly(st.lists(st.fixed_dictionaries({}, optional={
            "locality": word, "primary": st.booleans()}), max_size=2)),
        "password": word,
        "nickname": word,  # any case: attribute names are case-insensitive
        "unknownAttribute": word,
        ENTERPRISE: mostly(
            st.fixed_dictionaries({}, optional={
                "department": word,
                "manager": st.fixed_dictionaries({}, optional={
                    "value": st.one_of(word, st.none()), "displayName": word}),
            }),
        ),
    },
)  # fmt: skip
groups = st.fixed_dictionaries(
    {},
    optional={
        "schemas": st.sampled_from([[GROUP], []]),
        "displayName": st.one_of(word, st.none()),
        "id": word,
        "members": entries,
        "externalId": word,
    },
)
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(validate: Any) -> tuple[str, Any]:
    try:
        return "valid", validate()
    except ScimError as error:
        return "invalid", (error.status, error.detail, error.scim_type)


def _library(model: Any, body: dict[str, Any], context: Context) -> dict[str, Any]:
    try:
        resource = model.model_validate(body, scim_ctx=context, scim_policy=parsing._TOLERANT)
    except ValidationError as exc:
        raise parsing.validation_error(exc) from exc
    dumped: dict[str, Any] = resource.model_dump(scim_ctx=context)
    return dumped


def _same(model: Any, body: dict[str, Any], context: Context) -> None:
    ours = _outcome(lambda: parsing._validated(model, copy.deepcopy(body), context))
    theirs = _outcome(lambda: _library(model, copy.deepcopy(body), context))
    assert ours == theirs


@PROPERTY
@given(body=users, context=st.sampled_from(CONTEXTS))
def test_a_user_body_validates_as_scim2_models_validates_it(
    body: dict[str, Any], context: Context
) -> None:
    strict = dialects.resource(body, parsing.UserModel, defaults={"active": True})
    _same(parsing.UserModel, strict, context)


@PROPERTY
@given(body=groups, context=st.sampled_from(CONTEXTS))
def test_a_group_body_validates_as_scim2_models_validates_it(
    body: dict[str, Any], context: Context
) -> None:
    _same(Group, dialects.resource(body, Group), context)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"userName": "ada", "id": "x", "groups": [{"value": "g"}]}, "valid"),
        ({"userName": "ada", "emails": [{"value": "a", "primary": True}] * 2}, "invalid"),
        ({"displayName": "no userName"}, "invalid"),
    ],
)
def test_the_comparison_covers_both_outcomes(body: dict[str, Any], expected: str) -> None:
    """Not vacuous: these bodies pass and fail as the RFC says."""
    strict = dialects.resource(body, parsing.UserModel, defaults={"active": True})
    ours = _outcome(lambda: parsing._validated(parsing.UserModel, strict, CONTEXTS[0]))
    assert ours[0] == expected
    _same(parsing.UserModel, strict, CONTEXTS[0])


def test_a_read_only_sub_attribute_is_dropped_as_scim2_models_drops_it() -> None:
    manager = {"value": "m", "$ref": "https://example.com/Users/m", "displayName": "M"}
    body = {"userName": "ada", "active": True, ENTERPRISE: {"manager": manager}}
    valid = parsing._validated(parsing.UserModel, copy.deepcopy(body), CONTEXTS[0])
    assert valid[ENTERPRISE]["manager"] == {"value": "m", "$ref": manager["$ref"]}  # readOnly
    _same(parsing.UserModel, body, CONTEXTS[0])
