"""Page tokens: opaque to clients, bound to the query that issued them."""

import base64
import binascii
import hashlib
import json
from typing import Any

from identity_service.domain.errors import InvalidField, InvalidPageToken

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(requested: int, maximum: int = MAX_PAGE_SIZE) -> int:
    """AIP-158: 0 means the default, more than the maximum means the maximum."""
    if requested < 0:
        raise InvalidField.of("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, maximum)


def fingerprint(*parts: Any) -> str:
    """A digest of everything a page token must not outlive."""
    encoded = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:24]


def encode(query: str, key: list[Any] | None) -> str:
    if key is None:
        return ""
    payload = json.dumps({"q": query, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode(token: str, query: str) -> list[Any] | None:
    """The sort key a token continues after, or None for the first page."""
    if not token:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidPageToken("the page token is malformed") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("k"), list):
        raise InvalidPageToken("the page token is malformed")
    if payload.get("q") != query:
        raise InvalidPageToken("the page token was issued for another query or caller")
    key: list[Any] = payload["k"]
    return key
