"""IdP traffic replayed end to end: the requests Okta and Entra ID document,
through the facade and a real identity_service, a fresh tenant per file, and
the parts of the answers their documents say matter.

A golden file is {"source": "<document and section>", "steps": [...]}; a
step is {"request": {"method", "path" (under /scim/v2, query allowed),
"body"?, "headers"?}, "response": {"status" (or the list of statuses the
documents allow), "body"?, "absent"?}, "capture"?: "<name>"}. A captured
response body is reachable from later steps as "{{<name>.<key>...}}" (list
items by index); "{{base}}" is the SCIM base URL. An expected body is a
pattern: objects match when every key they name matches, lists match item
by item, "{{present}}" matches any non-empty value, "{{empty}}" an absent or
empty one; ids, timestamps, versions and locations are left out unless a
step captured them. "absent" lists top-level keys the answer must not carry.

Group files (groups-*.json) replay once scim_facade.routes has a `groups`
module, i.e. once /Groups is served."""

import importlib.util
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient

GOLDEN = Path(__file__).parent.parent / "golden"
BASE_URL = "http://scim.test/scim/v2"
PRESENT = "{{present}}"
EMPTY = "{{empty}}"
_PLACEHOLDER = re.compile(r"\{\{([^{}]+)\}\}")
_GROUPS_SERVED = importlib.util.find_spec("scim_facade.routes.groups") is not None


def _golden_files() -> list[Path]:
    files = sorted([*GOLDEN.glob("okta/*.json"), *GOLDEN.glob("entra/*.json")])
    return [f for f in files if _GROUPS_SERVED or not f.name.startswith("groups-")]


def _lookup(captured: dict[str, Any], reference: str) -> Any:
    name, *keys = reference.split(".")
    value = captured[name]
    for key in keys:
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def _resolved(template: Any, captured: dict[str, Any]) -> Any:
    """`template` with its placeholders replaced by captured values."""
    if isinstance(template, dict):
        return {_resolved(k, captured): _resolved(v, captured) for k, v in template.items()}
    if isinstance(template, list):
        return [_resolved(item, captured) for item in template]
    if not isinstance(template, str) or template in (PRESENT, EMPTY):
        return template
    whole = _PLACEHOLDER.fullmatch(template)
    if whole:
        return _lookup(captured, whole.group(1))
    return _PLACEHOLDER.sub(lambda m: str(_lookup(captured, m.group(1))), template)


def _mismatches(expected: Any, actual: Any, where: str = "body") -> list[str]:
    """Where `actual` does not match the pattern `expected`."""
    if expected in (PRESENT, EMPTY):
        empty = actual in (None, "", [], {})
        wrong = empty if expected == PRESENT else not empty
        return [f"{where}: {actual!r} is {'empty' if empty else 'not empty'}"] if wrong else []
    if isinstance(expected, dict):
        return _object_mismatches(expected, actual, where)
    if isinstance(expected, list):
        return _list_mismatches(expected, actual, where)
    return [] if expected == actual else [f"{where}: {actual!r} != {expected!r}"]


def _object_mismatches(expected: dict[str, Any], actual: Any, where: str) -> list[str]:
    if not isinstance(actual, dict):
        return [f"{where}: {actual!r} is not an object"]
    return [
        problem
        for key, value in expected.items()
        for problem in (
            _mismatches(value, actual.get(key), f"{where}.{key}")
            if key in actual or value == EMPTY
            else [f"{where}.{key}: missing"]
        )
    ]


def _list_mismatches(expected: list[Any], actual: Any, where: str) -> list[str]:
    if not isinstance(actual, list) or len(actual) != len(expected):
        return [f"{where}: {actual!r} does not have {len(expected)} items"]
    return [
        problem
        for index, (e, a) in enumerate(zip(expected, actual, strict=True))
        for problem in _mismatches(e, a, f"{where}[{index}]")
    ]


def _send(scim: TestClient, request: dict[str, Any]) -> Any:
    path, _, query = request["path"].partition("?")
    return scim.request(
        request["method"],
        f"/scim/v2{path}",
        params=parse_qsl(query, keep_blank_values=True),
        json=request.get("body"),
        headers=request.get("headers"),
    )


def _replay(scim: TestClient, step: dict[str, Any], captured: dict[str, Any]) -> None:
    request = _resolved(step["request"], captured)
    expected = _resolved(step["response"], captured)
    response = _send(scim, request)
    what = f"{request['method']} {request['path']}"
    allowed = expected["status"] if isinstance(expected["status"], list) else [expected["status"]]
    assert response.status_code in allowed, f"{what}: {response.status_code} {response.text}"
    body = response.json() if response.content else None
    problems = _mismatches(expected["body"], body) if "body" in expected else []
    problems += [
        f"body.{key}: present" for key in expected.get("absent", []) if key in (body or {})
    ]
    assert not problems, f"{what}: {problems}\n{json.dumps(body, indent=2)}"
    if "capture" in step:
        captured[step["capture"]] = body


@pytest.mark.parametrize("golden", _golden_files(), ids=lambda f: f"{f.parent.name}/{f.stem}")
def test_the_documented_idp_traffic_gets_the_documented_answers(
    scim: TestClient, golden: Path
) -> None:
    """Okta and Entra ID get the answers their public documents describe (issue 3, Tests)."""
    document = json.loads(golden.read_text())
    assert document["source"]
    assert document["steps"]
    captured: dict[str, Any] = {"base": BASE_URL}
    for step in document["steps"]:
        _replay(scim, step, captured)
