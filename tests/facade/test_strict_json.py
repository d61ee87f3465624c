"""strict_json reads structure from bytes: strings holding quotes, colons,
brackets and backslashes must not be mistaken for members or nesting."""

import orjson
import pytest

from scim_facade.errors import ScimError
from scim_facade.strict_json import MAX_JSON_DEPTH, check

ACCEPTED = {
    "a colon in a value": rb'{"a": ":", "b": "x:y"}',
    "a string opening with a colon": rb'{"a": ":b", "c": [":"]}',
    "an escaped quote then a colon": rb'{"a": "\":", "b": "\\\":"}',
    "an escaped backslash before the closing quote": rb'{"a": "\\", "b": "\\\\"}',
    "brackets in strings": rb'{"a": "[[[[{{{{", "b": "}}]]"}',
    "a name holding a quote and a colon": rb'{"a\":": 1, "a": 2}',
    "names differing in a non-ASCII letter's case": '{"\u00e9": 1, "\u00c9": 2}'.encode(),
    "the same name in two objects": rb'{"a": {"v": 1}, "b": {"v": 2}, "c": [{"v": 3}, {"v": 4}]}',
    "white space around colons": b'{"a" :\n 1, "b"\t:\t{"c" : 2}}',
}
REFUSED = {
    "a name twice": rb'{"a": 1, "a": 2}',
    "a name twice, white space differing": b'{"a": 1,\n "a" : 2}',
    "a name twice through an escape": rb'{"ab": 1, "\u0061b": 2}',
    "a name in two cases": rb'{"ab": 1, "aB": 2}',
    "in two cases through an escape": rb'{"ab": 1, "\u0041b": 2}',
    "a name with an escaped quote twice": rb'{"a\"": 1, "a\"": 2}',
    "twice deep inside": rb'{"x": [{"y": {"a": 1, "A": 2}}]}',
}


def _nested(depth: int) -> bytes:
    """A JSON value `depth` levels deep, alternating objects and arrays."""
    return b'{"x":[' * (depth // 2) + b"{}" * (depth % 2) + b"]}" * (depth // 2)


@pytest.mark.parametrize("raw", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_strings_that_look_like_structure_are_accepted(raw: bytes) -> None:
    """Only structure outside strings counts (RFC 8259 §7: a string may hold any character)."""
    check(raw, orjson.loads(raw))


@pytest.mark.parametrize("raw", REFUSED.values(), ids=REFUSED.keys())
def test_a_name_given_twice_in_one_object_is_refused(raw: bytes) -> None:
    """Names SHOULD be unique (RFC 8259 §4); SCIM's are case-insensitive (RFC 7643 §2.1)."""
    with pytest.raises(ScimError) as raised:
        check(raw, orjson.loads(raw))
    assert (raised.value.status, raised.value.scim_type) == (400, "invalidSyntax")


@pytest.mark.parametrize(
    ("depth", "refused"), [(MAX_JSON_DEPTH, False), (MAX_JSON_DEPTH + 1, True)]
)
def test_nesting_is_counted_in_objects_and_arrays_alike(depth: int, refused: bool) -> None:
    """MAX_JSON_DEPTH levels of objects and arrays pass, one more does not."""
    raw = _nested(depth)
    if refused:
        with pytest.raises(ScimError):
            check(raw, orjson.loads(raw))
    else:
        check(raw, orjson.loads(raw))
