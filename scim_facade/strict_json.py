"""What a request body's JSON may not do even when orjson reads it: nest
deeper than MAX_JSON_DEPTH, or name one member of an object twice
(docs/decisions/0015).

RFC 8259 §4 only says names SHOULD be unique, and parsers disagree about
which of two values wins (orjson keeps the last, others the first), so a
body with a repeated name can mean one thing to the facade and another to
a proxy or a log reader in front of it: it is refused, 400 invalidSyntax.
SCIM attribute names are case-insensitive (RFC 7643 §2.1), so "userName"
and "USERNAME" in one object name the same attribute twice and are refused
too."""

import re
from typing import Any

from scim_facade.errors import invalid_syntax

# A SCIM body nests about 8 levels at most (a group PATCH inside a bulk
# request); orjson's own limit is 1024.
MAX_JSON_DEPTH = 32
# Every string of valid JSON, with the colon that makes it an object's
# member name: each quote outside a string opens one, so scanning never
# loses its place.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"(\s*:)?')


def check(raw: bytes, body: Any) -> None:
    """400 invalidSyntax when `body`, parsed from `raw`, nests deeper than
    MAX_JSON_DEPTH or names a member twice in one object."""
    names = _walk(body)
    written = sum(1 for match in _STRING.finditer(raw) if match.group(1) is not None)
    if written != names:
        raise invalid_syntax("an object names the same member twice (RFC 8259 §4)")


def _walk(body: Any) -> int:
    """The number of member names of every object in `body`, after checking
    its depth and its names' uniqueness in any case."""
    names = 0
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise invalid_syntax(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, dict):
            names += len(value)
            if len({str(name).lower() for name in value}) != len(value):
                raise invalid_syntax(
                    "an object names the same attribute twice (in any case, RFC 7643 §2.1)"
                )
            value = value.values()
        pending.extend((item, depth + 1) for item in value if isinstance(item, dict | list))
    return names
