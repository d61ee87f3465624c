"""userName and externalId are unique per tenant among live users, and the
database keeps them so when creates race."""

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from identity.v1 import user_service_pb2

from tests.helpers import TenantAccess, error_info
from tests.users.support import (
    Code,
    Stub,
    User,
    assert_error,
    create_user,
    fails,
    get_user,
    list_users,
    update_user,
)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("alice", "alice"),
        ("alice", "ALICE"),
        ("Alice", "aLiCe"),
        ("e\u0301lodie", "\u00e9lodie"),
        ("\u00c9lodie", "E\u0301LODIE"),
        ("stra\u00dfe", "STRASSE"),
        ("\u01f0\u0323", "J\u0323\u030c"),
        ("\u1fb3\u030c", "\u03b1\u030c\u03b9"),
    ],
    ids=[
        "same",
        "upper",
        "mixed",
        "nfd-vs-nfc",
        "nfc-vs-nfd-upper",
        "sharp-s-casefold",
        "marks-reordered-by-folding",
        "ypogegrammeni-folds-to-iota",
    ],
)
def test_create_user_with_a_taken_user_name_is_already_exists(
    users: Stub, tenant: TenantAccess, first: str, second: str
) -> None:
    """userName is unique per tenant among canonical caseless matches
    (RFC 7643 §4.1.1 "caseExact" false; Unicode §3.13 D145)."""
    create_user(users, tenant, first)

    error = fails(lambda: create_user(users, tenant, second))

    assert_error(error, Code.ALREADY_EXISTS, "USER_NAME_TAKEN")
    assert list_users(users, tenant).total_size == 1


def test_create_user_with_a_taken_external_id_is_already_exists(
    users: Stub, tenant: TenantAccess
) -> None:
    """externalId is unique per tenant among live users."""
    create_user(users, tenant, "alice", external_id="ABC")

    error = fails(lambda: create_user(users, tenant, "bob", external_id="ABC"))

    assert_error(error, Code.ALREADY_EXISTS, "EXTERNAL_ID_TAKEN")
    assert list_users(users, tenant).total_size == 1


def test_external_ids_differing_only_in_case_coexist(users: Stub, tenant: TenantAccess) -> None:
    """externalId is compared exactly (RFC 7643 §3.1: caseExact)."""
    upper = create_user(users, tenant, "alice", external_id="ABC")
    lower = create_user(users, tenant, "bob", external_id="abc")

    assert (upper.external_id, lower.external_id) == ("ABC", "abc")


def test_the_same_user_name_may_exist_in_two_tenants(
    users: Stub, tenant: TenantAccess, other_tenant: TenantAccess
) -> None:
    """Uniqueness is per tenant."""
    first = create_user(users, tenant, "alice", external_id="x1")
    second = create_user(users, other_tenant, "alice", external_id="x1")

    assert first.id != second.id


def test_update_user_to_a_taken_user_name_is_already_exists(
    users: Stub, tenant: TenantAccess
) -> None:
    """UpdateUser keeps userName unique as CreateUser does."""
    create_user(users, tenant, "alice")
    bob = create_user(users, tenant, "bob")

    error = fails(
        lambda: update_user(users, tenant, User(name=bob.name, user_name="ALICE"), "user_name")
    )

    assert_error(error, Code.ALREADY_EXISTS, "USER_NAME_TAKEN")
    assert get_user(users, tenant, bob.name) == bob


def _race(
    users: Stub, tenant: TenantAccess, requests: list[user_service_pb2.CreateUserRequest]
) -> list[User | grpc.RpcError]:
    """Send every request at once, one thread each."""
    start = threading.Barrier(len(requests))

    def send(request: user_service_pb2.CreateUserRequest) -> User | grpc.RpcError:
        start.wait(timeout=30)
        try:
            return users.CreateUser(request, metadata=tenant.metadata, timeout=30)
        except grpc.RpcError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


@pytest.mark.parametrize(
    ("make_user", "reason"),
    [
        (lambda i: User(user_name=["Alice", "alice", "ALICE", "aLiCe"][i % 4]), "USER_NAME_TAKEN"),
        (lambda i: User(user_name=f"user-{i}", external_id="okta-1"), "EXTERNAL_ID_TAKEN"),
    ],
    ids=["user-name", "external-id"],
)
def test_concurrent_creates_of_one_identity_end_with_one_winner(
    users: Stub, tenant: TenantAccess, make_user: Callable[[int], User], reason: str
) -> None:
    """Uniqueness is enforced by the database: racing creates of "Alice" and
    "alice" end in one user and ALREADY_EXISTS for every other."""
    requests = [
        user_service_pb2.CreateUserRequest(parent=tenant.parent, user=make_user(i))
        for i in range(24)
    ]

    outcomes = _race(users, tenant, requests)

    winners = [o for o in outcomes if isinstance(o, User)]
    losers = [o for o in outcomes if isinstance(o, grpc.RpcError)]
    assert len(winners) == 1
    assert [(e.code(), error_info(e).reason) for e in losers] == [
        (Code.ALREADY_EXISTS, reason)
    ] * 23
    assert [u.id for u in list_users(users, tenant).users] == [winners[0].id]


def test_concurrent_replays_of_one_request_id_create_one_user(
    users: Stub, tenant: TenantAccess
) -> None:
    """Retries racing each other under one request_id all get the first
    answer (AIP-155)."""
    request = user_service_pb2.CreateUserRequest(
        parent=tenant.parent, user=User(user_name="alice"), request_id=str(uuid.uuid4())
    )

    outcomes = _race(users, tenant, [request] * 12)

    assert all(isinstance(o, User) for o in outcomes), outcomes
    assert len({o.id for o in outcomes if isinstance(o, User)}) == 1
    assert list_users(users, tenant).total_size == 1
