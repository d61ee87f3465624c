"""Rules of service/validation.py that the gRPC tests do not reach one by
one: which characters count as control characters."""

import sys
import unicodedata

import pytest

from identity_service.domain.errors import InvalidField
from identity_service.service import validation


def test_control_characters_are_exactly_unicode_category_cc() -> None:
    """A control character is one of general category Cc, and only that
    (the check is a character class; Unicode keeps the Cc set fixed)."""
    mismatched = [
        code
        for code in range(sys.maxunicode + 1)
        if validation.has_control_characters(chr(code)) != (unicodedata.category(chr(code)) == "Cc")
    ]
    assert mismatched == []


@pytest.mark.parametrize("text", ["two\tcolumns", "two\nlines", "tab\t and\n newline"])
def test_attribute_values_may_hold_tab_and_newline(text: str) -> None:
    """Free text (an address's formatted lines) may hold tabs and newlines."""
    validation.check_user("alice", None, None, {"title": text})


@pytest.mark.parametrize("text", ["carriage\rreturn", "bell\x07", "next\x85line", "del\x7f"])
def test_attribute_values_refuse_other_control_characters(text: str) -> None:
    """Every other control character, C0 or C1, is refused in a value."""
    with pytest.raises(InvalidField, match="title: must not contain control characters"):
        validation.check_user("alice", None, None, {"title": text})
