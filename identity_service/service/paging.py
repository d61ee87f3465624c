"""Page tokens: opaque to clients, bound to the query that issued them."""

import base64
import binascii
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
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


class Memo:
    """Values that stay true enough for `seconds`, by key, at most `size` of
    them (the oldest go first). Safe to share between worker threads."""

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self._seconds = seconds
        self._size = size
        self._values: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._values.get(key)
            if found is None or found[0] < time.monotonic():
                return None
            return found[1]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._values[key] = (time.monotonic() + self._seconds, value)
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)
