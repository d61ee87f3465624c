"""scim_facade.patch: which user PATCH bodies only set `active` (Okta's and
Entra's deactivation and reactivation, written without reading the user)."""

from typing import Any

import pytest

from scim_facade import patch

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _active_only(*operations: dict[str, Any]) -> bool | None:
    return patch.active_only(patch.parse_user({"schemas": [PATCH_OP], "Operations": operations}))


@pytest.mark.parametrize(
    ("operation", "active"),
    [
        ({"op": "replace", "path": "active", "value": False}, False),
        ({"op": "Replace", "path": "active", "value": "False"}, False),
        ({"op": "Replace", "path": "ACTIVE", "value": "TRUE"}, True),
        ({"op": "replace", "value": {"active": False}}, False),
        ({"op": "replace", "value": {f"{CORE}:active": "true"}}, True),
        ({"op": "add", "path": f"{CORE}:active", "value": True}, True),
    ],
    ids=["path", "entra-string", "any-case", "okta-no-path", "urn-key", "urn-path-add"],
)
def test_an_active_only_patch_names_the_status_it_sets(
    operation: dict[str, Any], active: bool
) -> None:
    """Okta's and Entra's (de)activation forms, booleans as Entra's strings."""
    assert _active_only(operation) is active


def test_the_last_active_operation_wins() -> None:
    """Operations apply in order (RFC 7644 §3.5.2)."""
    assert _active_only(
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": "active", "value": True},
    )


@pytest.mark.parametrize(
    "operations",
    [
        [
            {"op": "replace", "path": "active", "value": False},
            {"op": "add", "path": "title", "value": "x"},
        ],
        [{"op": "replace", "value": {"active": False, "title": "x"}}],
        [{"op": "replace", "path": "active", "value": 0}],
        [{"op": "replace", "path": "title", "value": "active"}],
    ],
    ids=["and-title", "no-path-and-title", "not-a-boolean", "other-attribute"],
)
def test_a_patch_that_does_more_than_set_active_is_not_active_only(
    operations: list[dict[str, Any]],
) -> None:
    """Anything else takes the read-patch-write path, with its checks."""
    assert _active_only(*operations) is None
