"""Etags on UserService (AIP-154): stale ones are ABORTED, weak and strong forms
match, every real change makes a new one, and racing writers end with one winner."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from tests.helpers import TenantAccess, error_info
from tests.users.support import (
    BY_NAME_METHODS,
    Code,
    State,
    Stub,
    User,
    assert_error,
    by_name,
    create_user,
    fails,
    get_user,
    update_user,
)


def test_update_user_with_a_stale_etag_is_aborted_and_changes_nothing(
    users: Stub, tenant: TenantAccess
) -> None:
    """An etag that is not the current one is ABORTED (AIP-154)."""
    created = create_user(users, tenant, "alice", title="Engineer")
    current = update_user(users, tenant, User(name=created.name, title="Lead"), "title")

    error = fails(
        lambda: update_user(
            users, tenant, User(name=created.name, title="Boss", etag=created.etag), "title"
        )
    )

    assert_error(error, Code.ABORTED, "ETAG_MISMATCH")
    assert get_user(users, tenant, created.name) == current


@pytest.mark.parametrize("method", BY_NAME_METHODS)
def test_state_changes_with_a_stale_etag_are_aborted_and_change_nothing(
    users: Stub, tenant: TenantAccess, method: str
) -> None:
    """Delete, Undelete, Deactivate and Reactivate honour the etag too (AIP-154)."""
    created = create_user(users, tenant, "alice")
    current = by_name(users, tenant, "DeactivateUser", created.name)
    if method == "UndeleteUser":
        current = by_name(users, tenant, "DeleteUser", created.name)

    error = fails(lambda: by_name(users, tenant, method, created.name, etag=created.etag))

    assert_error(error, Code.ABORTED, "ETAG_MISMATCH")
    assert get_user(users, tenant, created.name, show_deleted=True) == current


@pytest.mark.parametrize(
    "form",
    [lambda etag: etag, lambda etag: etag.removeprefix("W/")],
    ids=["weak", "strong"],
)
def test_the_weak_and_strong_forms_of_the_current_etag_both_match(
    users: Stub, tenant: TenantAccess, form: Callable[[str], str]
) -> None:
    """W/"n" and "n" name the same version (AIP-154, RFC 9110 §8.8.3.2
    weak comparison)."""
    created = create_user(users, tenant, "alice")

    updated = update_user(
        users, tenant, User(name=created.name, title="Lead", etag=form(created.etag)), "title"
    )
    deactivated = by_name(users, tenant, "DeactivateUser", created.name, etag=form(updated.etag))

    assert (updated.title, deactivated.state) == ("Lead", User.DEACTIVATED)


def test_the_etag_changes_on_every_change(users: Stub, tenant: TenantAccess) -> None:
    """Every real change gives a new etag (AIP-154)."""
    created = create_user(users, tenant, "alice")
    name = created.name
    answers = [
        created,
        update_user(users, tenant, User(name=name, title="Lead"), "title"),
        by_name(users, tenant, "DeactivateUser", name),
        by_name(users, tenant, "ReactivateUser", name),
        by_name(users, tenant, "DeleteUser", name),
        by_name(users, tenant, "UndeleteUser", name),
    ]

    etags = [a.etag for a in answers]
    assert len(set(etags)) == len(etags), etags


@pytest.mark.parametrize(
    ("start", "method"),
    [(User.DEACTIVATED, "DeactivateUser"), (User.ACTIVE, "ReactivateUser")],
    ids=["deactivate-deactivated", "reactivate-active"],
)
def test_a_state_change_that_changes_nothing_keeps_the_etag(
    users: Stub, tenant: TenantAccess, start: State, method: str
) -> None:
    """Deactivating a deactivated user (or reactivating an active one) is a
    no-op: same etag, same update_time."""
    created = create_user(users, tenant, "alice", state=start)

    again = by_name(users, tenant, method, created.name)

    assert again == created


def test_an_update_to_the_same_values_keeps_the_etag(users: Stub, tenant: TenantAccess) -> None:
    """An update that changes nothing is not a new version."""
    created = create_user(users, tenant, "alice", title="Engineer")

    again = update_user(users, tenant, User(name=created.name, title="Engineer"), "title")

    assert again == created


def test_concurrent_updates_with_one_etag_end_with_one_winner(
    users: Stub, tenant: TenantAccess
) -> None:
    """Writers racing on the same etag: one succeeds, every other is ABORTED
    (AIP-154 optimistic concurrency)."""
    created = create_user(users, tenant, "alice")
    start = threading.Barrier(12)

    def send(title: str) -> User | grpc.RpcError:
        start.wait(timeout=30)
        try:
            return update_user(
                users, tenant, User(name=created.name, title=title, etag=created.etag), "title"
            )
        except grpc.RpcError as error:
            return error

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(send, [f"title-{i}" for i in range(12)]))

    winners = [o for o in outcomes if isinstance(o, User)]
    losers = [o for o in outcomes if isinstance(o, grpc.RpcError)]
    assert len(winners) == 1
    assert [(e.code(), error_info(e).reason) for e in losers] == [
        (Code.ABORTED, "ETAG_MISMATCH")
    ] * 11
    assert get_user(users, tenant, created.name) == winners[0]
