"""How the operator commands print domain objects: one readable line per item
(`id key=value ...`, free text JSON-quoted), a `field: value` block for one
item, or JSON (one object per line). Secrets never pass through here: the
domain objects hold only hashes' prefixes."""

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from identity_service.domain.models import Credential, Group, Tenant, User

Item = Tenant | Credential | User | Group


def tenant_line(tenant: Tenant) -> str:
    return _line(
        tenant.slug,
        state=tenant.state.value,
        display_name=_quoted(tenant.display_name),
        created=_time(tenant.create_time),
    )


def credential_line(credential: Credential) -> str:
    return _line(
        credential.id,
        tenant=credential.tenant_slug or "(platform)",
        scopes=",".join(sorted(s.value for s in credential.scopes)),
        display_name=_quoted(credential.display_name),
        prefix=credential.secret_prefix,
        created=_time(credential.create_time),
        expires=_time(credential.expire_time),
        last_used=_time(credential.last_use_time),
        revoked=_time(credential.revoke_time),
    )


def user_line(user: User) -> str:
    return _line(
        user.id,
        user_name=_quoted(user.user_name),
        state=user.state.value,
        display_name=_quoted(user.display_name),
        external_id=_quoted(user.external_id),
    )


def group_line(group: Group) -> str:
    return _line(
        group.id,
        display_name=_quoted(group.display_name),
        members=str(group.member_count),
        external_id=_quoted(group.external_id),
    )


def detail(item: Item) -> str:
    """Every field of a domain object on its own line; nested values as JSON."""
    lines = []
    for name, value in _plain(item).items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        lines.append(f"{name}: {text}")
    return "\n".join(lines)


def as_json(item: Item) -> str:
    """A domain object as one line of JSON: times in RFC 3339, sets sorted."""
    return json.dumps(_plain(item), sort_keys=True, ensure_ascii=False)


def _plain(item: Item) -> dict[str, Any]:
    """JSON-ready values: the JSON round trip applies `_json_default` throughout."""
    plain: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(item), default=_json_default))
    return plain


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot print a {type(value).__name__} as JSON")


def _line(ident: str, **fields: str | None) -> str:
    """`ident key=value ...`, leaving out fields that have no value."""
    pairs = [f"{key}={value}" for key, value in fields.items() if value]
    return " ".join([ident, *pairs])


def _quoted(text: str | None) -> str | None:
    return json.dumps(text, ensure_ascii=False) if text else None


def _time(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
