"""The SCIM requests the benchmark sends, as functions of the call's number,
so both systems get exactly the same requests in the same order.

Reads pick users spread over the whole dataset (a multiplicative hash of
the call number); writes touch a different user on every call. PATCH adds
users of no group (dataset.first_free_user on), one per call; the remove
row then takes out exactly the users the add row put in, so every group
keeps its size."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from bench import dataset
from bench.dataset import Dataset, label

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Users POSTed by the benchmark are numbered from here, past any dataset.
_POSTED = 10_000_000


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    expect: int | tuple[int, ...] = 200


# The request of call `number` on a dataset.
Make = Callable[[Dataset, int], Request]
# The most calls a row may send, given the calls earlier rows sent (by key).
Limit = Callable[[Dataset, Mapping[str, int]], int | None]


@dataclass(frozen=True)
class Scenario:
    key: str  # stable, for results.json and the targets
    title: str  # for the table
    make: Make
    limit: Limit | None = None


def spread(data: Dataset, number: int) -> int:
    """A user for call `number`, spread over the whole dataset."""
    return (number * 2_654_435_761 + 12_345) % data.users


def _filter(expression: str) -> str:
    return "/Users?filter=" + quote(expression)


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _get_user(data: Dataset, n: int) -> Request:
    return Request("GET", f"/Users/{dataset.user_id(spread(data, n))}")


def _user_name_eq(data: Dataset, n: int) -> Request:
    return Request("GET", _filter(f'userName eq "{dataset.user_name(spread(data, n))}"'))


def _external_id_eq(data: Dataset, n: int) -> Request:
    return Request("GET", _filter(f'externalId eq "{dataset.external_id(spread(data, n))}"'))


def _user_name_sw(data: Dataset, n: int) -> Request:
    """A prefix that ten users share (user0001230 .. user0001239)."""
    prefix = dataset.user_name(spread(data, n) // 10 * 10)[:-13]
    return Request("GET", _filter(f'userName sw "{prefix}"'))


def _emails_co(data: Dataset, n: int) -> Request:
    """A substring of one user's work email."""
    return Request("GET", _filter(f'emails co "{spread(data, n):07d}@mail"'))


def _post_user(_: Dataset, n: int) -> Request:
    return Request("POST", "/Users", _json(dataset.scim_user(_POSTED + n)), 201)


def _put_user(data: Dataset, n: int) -> Request:
    i = spread(data, n)
    body = dataset.scim_user(i) | {"id": dataset.user_id(i), "title": f"Title {n}"}
    return Request("PUT", f"/Users/{dataset.user_id(i)}", _json(body))


def _patch_active(data: Dataset, n: int) -> Request:
    """active=false; once every user has had it, true, then false again, so
    that each PATCH changes its user."""
    active = (n // data.users) % 2 == 1
    operation = {"op": "replace", "path": "active", "value": active}
    body = {"schemas": [PATCH_OP], "Operations": [operation]}
    return Request("PATCH", f"/Users/{dataset.user_id(spread(data, n))}", _json(body), (200, 204))


def _get_group(size: int, members: bool) -> Make:
    query = "" if members else "?excludedAttributes=members"
    return lambda _, __: Request("GET", f"/Groups/{dataset.group_id(size)}{query}")


def _member_patch(size: int, op: str) -> Make:
    def make(data: Dataset, n: int) -> Request:
        member = dataset.user_id(data.first_free_user + n)
        if op == "add":
            operation = {"op": "add", "path": "members", "value": [{"value": member}]}
        else:
            operation = {"op": "remove", "path": f'members[value eq "{member}"]'}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        return Request("PATCH", f"/Groups/{dataset.group_id(size)}", _json(body), (200, 204))

    return make


def _free_users(data: Dataset, _: Mapping[str, int]) -> int:
    return data.users - data.first_free_user


def _added_by(key: str) -> Limit:
    return lambda _, sent: sent.get(key, 0)


USER_READS = (
    Scenario("get_user", "GET /Users/{id}", _get_user),
    Scenario("username_eq", "userName eq", _user_name_eq),
    Scenario("externalid_eq", "externalId eq", _external_id_eq),
    Scenario("username_sw", "userName sw (10 match)", _user_name_sw),
    Scenario("emails_co", "emails co (1 match)", _emails_co),
)
USER_WRITES = (
    Scenario("post_user", "POST /Users", _post_user),
    Scenario("put_user", "PUT /Users/{id}", _put_user),
    Scenario("patch_active", "PATCH active=false", _patch_active),
)


def group_reads(size: int) -> tuple[Scenario, ...]:
    name = label(size)
    return (
        Scenario(f"get_group_{name}", f"GET group of {name} with members", _get_group(size, True)),
        Scenario(
            f"get_group_{name}_no_members",
            f"GET group of {name} excludedAttributes=members",
            _get_group(size, False),
        ),
    )


def member_patches(size: int) -> tuple[Scenario, ...]:
    name = label(size)
    add = f"patch_add_member_{name}"
    return (
        Scenario(
            add, f"PATCH add 1 member, group of {name}", _member_patch(size, "add"), _free_users
        ),
        Scenario(
            f"patch_remove_member_{name}",
            f"PATCH remove 1 member, group of {name}",
            _member_patch(size, "remove"),
            _added_by(add),
        ),
    )
