"""`attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) on every
response that returns a resource. Names are case-insensitive (RFC 7643 §2.1),
may carry a sub-attribute ("name.givenName") and a schema URN prefix
("urn:ietf:params:scim:schemas:core:2.0:User:userName", or an extension's).

The `returned` characteristic (RFC 7643 §7) comes from the scim2-models
classes: "always" attributes (`id`, and `schemas`, which every resource
carries) cannot be left out, "never" ones (`password`) are never shown, and
"request" ones only when named in `attributes`."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scim2_models import Group, Returned

from scim_facade.mapping.groups import GROUP_SCHEMA
from scim_facade.mapping.users import CORE_SCHEMA, ENTERPRISE_SCHEMA
from scim_facade.parsing import UserModel

_CORE_PREFIXES = (f"{CORE_SCHEMA}:".lower(), f"{GROUP_SCHEMA}:".lower())
_EXTENSIONS = (ENTERPRISE_SCHEMA.lower(),)

Path = tuple[str, ...]  # lower-cased: (attribute,), (attribute, sub), or (urn, attribute[, sub])


def _returned(kind: Returned) -> frozenset[str]:
    """Lower-cased names of the core attributes whose `returned` is `kind`."""
    names = set()
    for model in (UserModel, Group):
        for field_name, field in model.model_fields.items():
            if model.get_field_annotation(field_name, Returned) == kind:
                names.add(str(field.serialization_alias or field_name).lower())
    return frozenset(names)


_ALWAYS = _returned(Returned.always) | {"schemas"}
_NEVER = _returned(Returned.never)
_REQUEST = _returned(Returned.request)


def _parse(name: str) -> Path:
    lowered = name.strip().lower()
    for prefix in _CORE_PREFIXES:
        lowered = lowered.removeprefix(prefix)
    for urn in _EXTENSIONS:
        if lowered == urn:
            return (urn,)
        if lowered.startswith(f"{urn}:"):
            return (urn, *lowered[len(urn) + 1 :].split("."))
    return tuple(lowered.split("."))


def _names(raw: str | Sequence[str] | None) -> Iterable[str]:
    """Names from a query parameter ("a,b") or a SearchRequest list."""
    if raw is None:
        return ()
    parts = raw.split(",") if isinstance(raw, str) else [p for item in raw for p in item.split(",")]
    return (part for part in parts if part.strip())


def _pick(value: Any, rest: Path) -> Any:
    """The part of `value` that `rest` names, or None. Multi-valued entries
    keep their positions (None where an entry has nothing), so that the
    parts of several sub-attributes merge into the right entries."""
    if not rest:
        return value
    if isinstance(value, list):
        picked = [_pick(item, rest) for item in value]
        return picked if any(item is not None for item in picked) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if key.lower() == rest[0]:
                sub = _pick(item, rest[1:])
                return None if sub is None else {key: sub}
    return None


def _merged(mine: Any, theirs: Any) -> Any:
    if mine is None:
        return theirs
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return {**mine, **{k: _merged(mine.get(k), v) for k, v in theirs.items()}}
    if isinstance(mine, list) and isinstance(theirs, list):
        return [_merged(a, b) for a, b in zip(mine, theirs, strict=True)]
    return mine if theirs is None else theirs


def _compact(value: Any) -> Any:
    """Drops the placeholders `_pick` left in multi-valued attributes."""
    if isinstance(value, list):
        return [_compact(item) for item in value if item is not None]
    if isinstance(value, dict):
        return {key: _compact(item) for key, item in value.items()}
    return value


def _drop(value: Any, path: Path) -> None:
    """Removes what `path` names, and the complex values it leaves empty."""
    if isinstance(value, list):
        for item in value:
            _drop(item, path)
        value[:] = [item for item in value if item != {}]
        return
    if not isinstance(value, dict):
        return
    for key in [k for k in value if k.lower() == path[0]]:
        if len(path) > 1:
            _drop(value[key], path[1:])
        if len(path) == 1 or value[key] in ({}, []):
            del value[key]


@dataclass(frozen=True)
class Projection:
    attributes: tuple[Path, ...] = ()
    excluded: tuple[Path, ...] = ()

    @classmethod
    def of(
        cls, attributes: str | Sequence[str] | None, excluded: str | Sequence[str] | None
    ) -> "Projection":
        """From the query parameters ("userName,emails.value") or the lists
        of a SearchRequest body (RFC 7644 §3.4.3)."""
        return cls(
            tuple(_parse(name) for name in _names(attributes)),
            tuple(_parse(name) for name in _names(excluded)),
        )

    @property
    def asked(self) -> bool:
        """Whether the request named attributes to return or to leave out."""
        return bool(self.attributes or self.excluded)

    def includes(self, attribute: str) -> bool:
        """Whether the top-level `attribute` can appear in the answer (so a
        costly one, such as a group's members, is fetched only then)."""
        name = attribute.lower()
        if name in _NEVER:
            return False
        if self.attributes:
            return name in _ALWAYS or any(path[0] == name for path in self.attributes)
        return name in _ALWAYS or not any(path == (name,) for path in self.excluded)

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        """`resource` as the request asked to see it (may change `resource`)."""
        if self.attributes:
            return self._only(resource)
        for path in self.excluded:
            if path[0] not in _ALWAYS:
                _drop(resource, path)
        hidden = _NEVER | _REQUEST
        return {key: value for key, value in resource.items() if key.lower() not in hidden}

    def _only(self, resource: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {k: v for k, v in resource.items() if k.lower() in _ALWAYS}
        for path in self.attributes:
            if path[0] not in _NEVER:
                result = _merged(result, _pick(resource, path))
        return dict(_compact(result))
