"""Stored user attributes become identity.v1 messages exactly as
json_format.ParseDict makes them (identity_service/servicers/convert.py
builds them directly, which costs a fraction of ParseDict)."""

from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from identity.v1 import user_pb2

from identity_service.servicers import convert

Value = user_pb2.MultiValuedAttribute
Enterprise = user_pb2.EnterpriseUser


def _full(**more: Any) -> user_pb2.User:
    return user_pb2.User(
        name_parts=user_pb2.Name(formatted="Ms. Barbara J Jensen III", given_name="Barbara"),
        nick_name="Babs",
        title="Tour Guide",
        emails=[
            Value(value="bjensen@example.com", type="work", primary=True),
            Value(value="babs@jensen.org", type="home"),
        ],
        addresses=[user_pb2.Address(locality="Hollywood", type="work", primary=True)],
        roles=[Value(value="guide", display="Guide")],
        enterprise=Enterprise(
            employee_number="701984",
            manager=Enterprise.Manager(value="26118915", display_name="John Smith"),
        ),
        **more,
    )


def _extension() -> struct_pb2.Struct:
    extension = struct_pb2.Struct()
    extension.update({"badge": "A-17", "floors": [1, 2], "visitor": False})
    return extension


@pytest.mark.parametrize(
    "message",
    [
        user_pb2.User(),
        user_pb2.User(title="Tour Guide"),
        _full(),
        _full(extensions={"urn:acme:2.0:User": _extension()}),
    ],
    ids=["empty", "one string", "every kind", "with extensions"],
)
def test_stored_attributes_convert_as_json_format_parses_them(message: user_pb2.User) -> None:
    """The same message as ParseDict of the stored document, nested
    messages, repeated values and extension Structs included."""
    document = json_format.MessageToDict(message)

    assert convert._attributes(document) == json_format.ParseDict(document, user_pb2.User())


@pytest.mark.parametrize(
    "document",
    [{"nickname": "Babs"}, {"emails": {"value": "x"}}, {"nameParts": {"given": "B"}}],
    ids=["unknown field", "object for a list", "unknown nested field"],
)
def test_a_document_json_format_refuses_is_refused_the_same_way(document: dict[str, Any]) -> None:
    """What ParseDict would not parse fails as ParseDict fails."""
    with pytest.raises(json_format.ParseError):
        convert._attributes(document)
