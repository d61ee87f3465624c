"""`attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) on every
response that returns a resource. Names are case-insensitive, may carry a
sub-attribute ("name.givenName") and a schema URN prefix. `id` and `schemas`
are returned always (RFC 7643 §3.1: returned "always"); `password` is never
produced at all."""

from dataclasses import dataclass
from typing import Any

from scim_facade.mapping.groups import GROUP_SCHEMA
from scim_facade.mapping.users import CORE_SCHEMA, ENTERPRISE_SCHEMA

_ALWAYS = ("schemas", "id")
_CORE_PREFIXES = (f"{CORE_SCHEMA}:".lower(), f"{GROUP_SCHEMA}:".lower())
_EXTENSIONS = (ENTERPRISE_SCHEMA,)

Path = tuple[str, ...]  # lower-cased: (attribute,), (attribute, sub), or (urn, attribute[, sub])


def _parse(name: str) -> Path:
    lowered = name.strip().lower()
    for prefix in _CORE_PREFIXES:
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix) :]
    for urn in _EXTENSIONS:
        if lowered == urn.lower():
            return (lowered,)
        if lowered.startswith(f"{urn.lower()}:"):
            return (urn.lower(), *lowered[len(urn) + 1 :].split("."))
    return tuple(lowered.split("."))


def _paths(raw: str | None) -> list[Path]:
    return [_parse(name) for name in (raw or "").split(",") if name.strip()]


def _pick(value: Any, rest: Path) -> Any:
    """The part of `value` that `rest` names (multi-valued: in every entry)."""
    if not rest:
        return value
    if isinstance(value, list):
        picked = [_pick(item, rest) for item in value]
        return [item for item in picked if item not in (None, {})]
    if isinstance(value, dict):
        for key, item in value.items():
            if key.lower() == rest[0]:
                sub = _pick(item, rest[1:])
                return None if sub is None else {key: sub}
    return None


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            for mine, theirs in zip(into[key], value, strict=False):
                if isinstance(mine, dict) and isinstance(theirs, dict):
                    _merge(mine, theirs)
        else:
            into[key] = value


def _drop(value: Any, path: Path) -> None:
    if isinstance(value, list):
        for item in value:
            _drop(item, path)
        return
    if not isinstance(value, dict):
        return
    for key in list(value):
        if key.lower() == path[0] and key not in _ALWAYS:
            if len(path) == 1:
                del value[key]
            else:
                _drop(value[key], path[1:])


@dataclass(frozen=True)
class Projection:
    attributes: tuple[Path, ...] = ()
    excluded: tuple[Path, ...] = ()

    @classmethod
    def of(cls, attributes: str | None, excluded: str | None) -> "Projection":
        return cls(tuple(_paths(attributes)), tuple(_paths(excluded)))

    def includes(self, attribute: str) -> bool:
        """Whether the top-level `attribute` can appear in the answer (so a
        costly one, such as a group's members, is fetched only then)."""
        name = attribute.lower()
        if self.attributes:
            return any(path[0] == name for path in self.attributes)
        return not any(path == (name,) for path in self.excluded)

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        if self.attributes:
            result = {key: resource[key] for key in _ALWAYS if key in resource}
            for path in self.attributes:
                part = _pick(resource, path)
                if part:
                    _merge(result, part)
            return result
        for path in self.excluded:
            _drop(resource, path)
        return resource
