"""Domain objects to JSON-safe dicts and back, for replaying the first answer
to a request_id."""

import dataclasses
import enum
import typing
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


def dump(value: Any) -> dict[str, Any]:
    """A dataclass as a JSON-safe dict."""
    return {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}


def dump_dict(values: dict[str, Any]) -> dict[str, Any]:
    """A dict of domain values as a JSON-safe dict."""
    return {key: _dump(value) for key, value in values.items()}


def _dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(_dump(item) for item in value)
    return value


def load(cls: type[T], data: dict[str, Any]) -> T:
    """The inverse of `dump` for dataclasses of str, int, enum, datetime and
    dict fields."""
    hints = typing.get_type_hints(cls)
    return cls(**{name: _load(hints[name], raw) for name, raw in data.items()})


def _load(hint: Any, raw: Any) -> Any:
    if raw is None:
        return None
    candidates = typing.get_args(hint) or (hint,)
    for candidate in candidates:
        if candidate is datetime:
            return datetime.fromisoformat(raw)
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return candidate(raw)
    return raw
