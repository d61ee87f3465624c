"""A query across resource types (POST /.search, RFC 7644 §3.4.3): Users,
then Groups, as one list. An attribute only one type has makes the filter
false on the other (RFC 7644 §3.4.2.1), so that type adds nothing."""

from dataclasses import dataclass
from typing import Any

from scim2_models import Group

from scim_facade import groups, listing, parsing, users
from scim_facade.call import Call
from scim_facade.errors import ScimError
from scim_facade.mapping import groups as group_mapping
from scim_facade.mapping import users as user_mapping
from scim_facade.projection import Projection


@dataclass(frozen=True)
class _Filters:
    """The identity.v1 filter for each type, None where the type cannot match."""

    users: str | None
    groups: str | None


def _filters(expression: str) -> _Filters:
    per_type: list[str | None] = []
    errors: list[ScimError] = []
    for model in (parsing.UserModel, Group):
        try:
            per_type.append(listing.identity_filter(expression, model))
        except ScimError as error:
            per_type.append(None)
            errors.append(error)
    if len(errors) == 2:
        raise errors[0]
    return _Filters(*per_type)


async def _total(call: Call, kind: str, expression: str | None, order_by: str) -> int:
    if expression is None:
        return 0
    lister = users.list_page if kind == "users" else groups.list_page
    page = await lister(call, expression, order_by, 0, 0, "")
    return page.total_size


async def _users(
    call: Call, expression: str, order_by: str, size: int, skip: int, shown: Projection
) -> list[dict[str, Any]]:
    page = await users.list_page(call, expression, order_by, size, skip, "")
    return [shown.apply(user_mapping.to_scim(u, call.base_url)) for u in page.users[:size]]


async def _groups(
    call: Call, expression: str, order_by: str, size: int, skip: int, shown: Projection
) -> list[dict[str, Any]]:
    page = await groups.list_page(call, expression, order_by, size, skip, "")
    found = []
    for group in page.groups[:size]:
        members = None
        if shown.includes("members") and group.member_count:
            members = [m async for p in groups.member_pages(call, group.id) for m in p]
        found.append(shown.apply(group_mapping.to_scim(group, call.base_url, members)))
    return found


async def search(call: Call, params: listing.ListParams, shown: Projection) -> dict[str, Any]:
    """One page of Users followed by Groups, by index (cursors are offered
    per resource type, where a single identity.v1 list backs them)."""
    if params.cursor is not None:
        # RFC 9865: a cursor this endpoint cannot resume is invalidCursor.
        raise ScimError(
            400, "cursors are offered on /Users and /Groups, not /.search", "invalidCursor"
        )
    filters = _filters(params.filter)
    order_by = listing.order_by(params)
    # Groups have no userName: sorted by it, they come after the users, unsorted.
    group_order = "" if order_by.startswith("user_name") else order_by
    size, skip = listing.page_size(params, call.settings.max_results), listing.skip(params)
    user_total = await _total(call, "users", filters.users, order_by)
    group_total = await _total(call, "groups", filters.groups, group_order)
    found: list[dict[str, Any]] = []
    if filters.users is not None and skip < user_total and size:
        found += await _users(call, filters.users, order_by, size, skip, shown)
    room, group_skip = size - len(found), max(skip - user_total, 0)
    if filters.groups is not None and room and group_skip < group_total:
        found += await _groups(call, filters.groups, group_order, room, group_skip, shown)
    return listing.response(found, user_total + group_total, params)
