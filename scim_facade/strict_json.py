"""What a request body's JSON may not do even when orjson reads it: nest
deeper than MAX_JSON_DEPTH, or name one member of an object twice
(docs/decisions/0015).

RFC 8259 §4 only says names SHOULD be unique, and parsers disagree about
which of two values wins (orjson keeps the last, others the first), so a
body with a repeated name can mean one thing to the facade and another to
a proxy or a log reader in front of it: it is refused, 400 invalidSyntax.
SCIM attribute names are case-insensitive (RFC 7643 §2.1), so "userName"
and "USERNAME" in one object name the same attribute twice and are refused
too.

Both checks work on bytes, in C (bytes methods, re, orjson), never node
by node in Python: a PATCH of 1,000 members is about 3,000 JSON values."""

import re
from typing import Any

import orjson

from scim_facade.errors import invalid_syntax

# A SCIM body nests about 8 levels at most (a group PATCH inside a bulk
# request); orjson's own limit is 1024.
MAX_JSON_DEPTH = 32
_ESCAPES = (b"\\\\", b'\\"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# An empty object or array: one pass of removing them takes one level off.
_INNERMOST = re.compile(rb"\{\}|\[\]")


def check(raw: bytes, body: Any) -> None:
    """400 invalidSyntax when `body`, parsed from `raw`, nests deeper than
    MAX_JSON_DEPTH or names a member twice in one object."""
    structure = _outside_strings(raw)
    if _deeper_than(structure, MAX_JSON_DEPTH):
        raise invalid_syntax(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    # Every member has one colon outside strings. `body` holds one member
    # per distinct name, and its lower-cased copy one per name in any case.
    written = structure.count(b":")
    lowered = orjson.loads(orjson.dumps(body).lower())
    if _outside_strings(orjson.dumps(lowered)).count(b":") != written:
        raise invalid_syntax(
            "an object names the same member twice (in any case: RFC 8259 §4, RFC 7643 §2.1)"
        )


def _outside_strings(raw: bytes) -> bytes:
    """Valid JSON without its strings: with escaped backslashes and quotes
    removed, every quote left opens or closes a string."""
    for escape in _ESCAPES:
        raw = raw.replace(escape, b"")
    return b"".join(raw.split(b'"')[0::2])


def _deeper_than(structure: bytes, limit: int) -> bool:
    brackets = structure.translate(None, delete=_NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = _INNERMOST.sub(b"", brackets)
    return bool(brackets)
